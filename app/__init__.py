"""Privacy notice knowledge assistant: grounded, cited answers from policy documents."""

__version__ = "0.1.0"
