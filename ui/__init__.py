"""The Gradio chat page (presentation only; it calls the rag API)."""

import os

# Gradio reads this at import time: never phone home, the page must work offline.
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
