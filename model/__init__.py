"""The world and its rules: the platform, its levers and prices, the ledger, the social
network, the parameter schema and data collection."""

from model.market import WhatsAppMarket
from model.params import PARAMS, ParameterError

__all__ = ["PARAMS", "ParameterError", "WhatsAppMarket"]
