"""The ways in: the Gradio chat page (ui.app) and the `playbook` command line (ui.cli).

Presentation only: both call the core API (rag.ask, ingest.run, evals) and nothing imports them.
"""

import os

# Gradio reads this at import time: never phone home, the page must work offline.
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
