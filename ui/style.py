"""Page styling: a calm reading layout, marked citations, clear source cards (no web fonts)."""

CSS = """
.nav-holder { display: none !important; }  /* the article page links back itself */
#pb-header h1 { font-size: 1.5rem; margin: 0 0 .1rem 0; }
#pb-header p { margin: 0; color: var(--body-text-color-subdued); }
.pb-answer { line-height: 1.55; }
.pb-list { margin: .2rem 0 .2rem 1.2rem; padding: 0; }
.pb-list li { margin: .15rem 0; }
.pb-streaming::after { content: "▍"; opacity: .5; }
.pb-pending { color: var(--body-text-color-subdued); font-style: italic; }
.pb-cite { color: var(--color-accent); font-weight: 600; font-size: .75em; margin-left: 1px; }
.pb-query { font-size: .85em; color: var(--body-text-color-subdued); margin-bottom: .4rem; }
.pb-notice { font-size: .85em; margin-top: .4rem; padding: .3rem .5rem; border-radius: 6px;
  background: var(--color-accent-soft); }
.pb-model { font-size: .75em; color: var(--body-text-color-subdued); margin-top: .3rem; }
.pb-label { font-size: .75rem; font-weight: 600; text-transform: uppercase; letter-spacing: .04em;
  color: var(--body-text-color-subdued); margin: .8rem 0 .3rem 0; }
.pb-source { border: 1px solid var(--border-color-primary); border-radius: 8px;
  padding: .35rem .6rem; margin: .35rem 0; background: var(--background-fill-secondary); }
.pb-source summary { cursor: pointer; font-size: .9em; }
.pb-n { font-weight: 700; color: var(--color-accent); }
.pb-where { font-weight: 600; }
.pb-sep { color: var(--body-text-color-subdued); font-weight: 400; }
.pb-score { float: right; font-size: .75em; color: var(--body-text-color-subdued); }
.pb-fresh { display: block; font-size: .75em; color: var(--body-text-color-subdued); }
.pb-stale { color: #b45309; } .pb-stale-mark { font-weight: 600; }
.pb-passage { font-size: .88em; line-height: 1.5; margin: .45rem 0; padding-left: .6rem;
  border-left: 3px solid var(--border-color-primary); }
.pb-passage mark { background: #fde68a; color: inherit; padding: 0 1px; border-radius: 2px; }
.pb-passage p { margin: .25rem 0; }
.pb-passage .pb-md-list { margin: .2rem 0 .2rem 1.3rem; padding: 0; }
.pb-passage .pb-md-list li { margin: .12rem 0; }
.pb-passage .pb-h { font-size: 1em; margin: .4rem 0 .2rem 0; }
.pb-passage pre { white-space: pre-wrap; font-size: .92em; margin: .3rem 0; }
.pb-open { font-size: .82em; }
.pb-others .pb-source { opacity: .85; }
.pb-refused { border: 1px solid #f59e0b; border-radius: 8px; padding: .6rem .8rem;
  background: rgba(245, 158, 11, .08); }
.pb-refused-title { font-weight: 700; color: #b45309; margin-bottom: .3rem; }
.pb-nearest { margin: .2rem 0 0 1.1rem; }
.pb-error { color: #b91c1c; }
.pb-muted { color: var(--body-text-color-subdued); }
.pb-status { display: grid; grid-template-columns: auto 1fr; gap: .15rem .8rem; margin: 0;
  font-size: .9em; }
.pb-status dt { color: var(--body-text-color-subdued); }
.pb-status dd { margin: 0; font-weight: 600; }
#pb-feedback-target { font-size: .9em; }
.pb-article { max-width: 760px; margin: 0 auto; line-height: 1.6; }
.pb-back { font-size: .9em; }
.pb-article-source { font-size: .8em; color: var(--body-text-color-subdued); }
.pb-target { background: #fef3c7; border-radius: 4px; padding: 0 .3rem; scroll-margin-top: 2rem; }
"""
