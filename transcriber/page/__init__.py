"""The HTML review page of a transcript and the index of a batch's pages.

`view` turns a `Transcript` into the data a page draws, `render` fills the template files beside it
(`page.html`, `index.html`: all the page code, no markup in Python), `audio` makes the page's sound (Opus
embedded, a link, or none), and `index` keeps the output folder's `index.html` up to date as files finish.
"""
