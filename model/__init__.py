"""The world and its rules: the platform, its levers and prices, the ledger, the social
network, the parameter schema and data collection."""

from model.params import PARAMS, ParameterError

__all__ = ["PARAMS", "ParameterError", "WhatsAppMarket"]


def __getattr__(name: str):
    """``WhatsAppMarket`` is imported on first use: the agents import the ledger and the
    network from this package, and the market imports the agents (PEP 562)."""
    if name == "WhatsAppMarket":
        from model.market import WhatsAppMarket

        return WhatsAppMarket
    raise AttributeError(f"module 'model' has no attribute {name!r}")
