"""skills-import: load employees' skills from CSV and Excel files into Microsoft Graph profiles."""

__all__ = ["__version__"]

__version__ = "0.1.0"
