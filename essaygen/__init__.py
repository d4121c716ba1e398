"""essaygen: Markdown sections, a numpy model and Bokeh figures into one static essay."""

__version__ = "0.1.0"
