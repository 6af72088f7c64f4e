"""The version of scalefit, on its own so that any module can read it without importing the
package's top level (which imports nearly everything)."""

__version__ = "0.1.0"
