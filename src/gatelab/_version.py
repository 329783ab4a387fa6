"""The version of gatelab (its own module, so that no module has to import the package root for it)."""

__version__ = "0.2.0"
