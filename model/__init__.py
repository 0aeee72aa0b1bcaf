"""The world and its rules: the platform, its levers and prices, the ledger, the social
network, the parameter schema and data collection. The model is assembled in
``model.market`` (``from model.market import WhatsAppMarket``), the one module of this
package that imports the agents."""

from model.params import PARAMS, ParameterError

__all__ = ["PARAMS", "ParameterError"]
