"""The actors: users (one vectorised population), SMBs, enterprises, advertisers and
partners (airlines, banks, shops)."""

from agents.advertiser import Advertiser
from agents.enterprise import Enterprise
from agents.partners import Airline, Bank, Shop
from agents.smb import SmallBusiness
from agents.users import UserPopulation, UserState

__all__ = ["Advertiser", "Airline", "Bank", "Enterprise", "Shop", "SmallBusiness",
           "UserPopulation", "UserState"]
