"""The package version, in a module of its own so that code anywhere in the package can read it without
importing the package's front door (`transcriber/__init__.py`)."""

__version__ = "0.1.0"
