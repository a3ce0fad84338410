"""rtsales: an hour-by-hour local copy of Amazon Vendor real-time sales."""

__version__ = "0.1.0"
