"""qdkg: a knowledge graph of a Qingdao Daily report on urban renewal, and the service that serves it."""

__version__ = "0.1.0"
