"""``WhatsAppMarket``: the Mesa model. ``step()`` is one day and reads as the day's story."""

from __future__ import annotations

import inspect
import time
from types import SimpleNamespace

import mesa
import numpy as np
from mesa.time import Schedule

from agents.advertiser import Advertiser, Advertisers
from agents.enterprise import Enterprise, bass_adoptions, upsold_shares
from agents.firms import Firms
from agents.partners import Airline, Bank, Shop
from agents.smb import Movers, SmallBusiness
from agents.solution_provider import SolutionProvider
from agents.users import DayOutcome, UserPopulation, interest_draws
from model import metrics
from model.blocks import in_background
from model.events import PolicyTimeline, event_time
from model.ledger import PLATFORM, USERS, Ledger
from model.levers import LeverBoard, Levers
from model.network import population_graph
from model.params import DAYS_PER_MONTH, PARAMS, REGIONS, resolve
from model.payment_rails import PaymentRails, linked_share_by_region
from model.platform import Platform
from model.sampling import spread_customers


class WhatsAppMarket(mesa.Model):
    """A messaging platform, its users and the organisations that pay it, day by day.

    Every parameter of ``model.params.PARAMS`` is a keyword argument with its default;
    ``rng`` seeds everything (an int, a SeedSequence or a Generator). The first
    ``burn_in_days`` days run inside the constructor and are not recorded: day 1, the first
    step a caller makes, starts in the calm steady state (warm start, docs/ODD.md §5).
    """

    def __init__(self, *, rng=None, **params):
        super().__init__(rng=rng)
        self.recording = False  # not before the burn-in is over
        self.p = SimpleNamespace(**resolve(params))
        p = self.p
        graph_rng, user_rng, self.org_rng, setup_rng, platform_rng = self.rng.spawn(5)
        self.scale = p.real_users / p.n_users

        graph, region = population_graph(p, graph_rng)
        self.ledger = Ledger()
        self.users = UserPopulation(self, graph, region, p.n_users, user_rng)
        self.levers = LeverBoard(Levers.from_params(p))
        self.platform = Platform(self, self.ledger, self.levers, platform_rng)
        self.payment_rails = PaymentRails(p)
        self.firms = Firms(self)
        self._graduates: dict[int, Enterprise] = {}  # by region: small firms that moved up (B3)
        self._create_organisations(setup_rng)
        self.firms.survey_tools()

        self.shopping_section_open = False
        self.sticker_store_open = False
        self._drops_running = 0  # holiday drops may overlap
        self.today: dict[str, float] = {}
        self._schedule_events()
        self.datacollector = mesa.DataCollector(model_reporters=metrics.reporters())
        started = time.perf_counter()
        for _ in range(p.burn_in_days):
            self.step()
        self.burn_in_s = time.perf_counter() - started
        """Seconds the burn-in took (``wasim bench`` reports it)."""
        self._start_record()

    def _start_record(self) -> None:
        """The record starts: Mesa's step count and what counts "since day 0" restart from
        the calm state (model time runs on, so the weekly and monthly routines keep their
        rhythm)."""
        self.steps = 0
        self.today = {}  # no recorded day yet
        self.ledger.open_books()
        self.users.start_record()
        self.firms.start_record()
        self.recording = True

    @property
    def trend_day(self) -> int:
        """The day the market's trends have reached (the drift of business traffic from SMS
        to chat apps, the dated payment caps): today's recorded day, and 0 throughout the
        burn-in, which settles the calm stocks of the world as it stands on day 1."""
        return self.steps if self.recording else 0

    # --- the day -----------------------------------------------------------------------
    def step(self) -> None:
        """One day, in the order of docs/ODD.md §3 (dated events fire before it, between days):
        the platform routes and bills what firms and advertisers send, then users react."""
        outcome = DayOutcome()
        exposure = self.platform.open_day()
        self.payment_rails.open_day(max(self.trend_day, 1), self._linked_share)  # the burn-in: day 1
        self.users.start_day()
        # routing and billing: firms trade, advertisers bid; the platform fills ``exposure``
        self.firms.trade()
        # users take sticker packs on the other core meanwhile: nothing until their sale touches them
        sticker_packs = in_background(self.take_virtual_goods)
        self.platform.run_ad_auctions(Advertisers(self.advertisers))
        # reactions: users take in the day's exposure, buy, and decide whether to stay
        blocks = self.users.react(exposure, outcome)
        self.platform.record_blocks(blocks)
        self.sell_virtual_goods(sticker_packs.result())
        self.users.decide(outcome)
        # organisations take stock; the books close
        self.firms.survey_tools()
        self.adapt_organisations()
        self.platform.close_day()
        self.today = metrics.day_row(self, outcome)
        if self.recording:
            self.datacollector.collect(self)

    def _linked_share(self) -> np.ndarray:
        users = self.users
        return linked_share_by_region(users.region, users.on_platform, users.payments_linked)

    def take_virtual_goods(self) -> int:
        """Free packs taken, and personalised packs bought, boosted in limited-edition holiday
        weeks (F2); returns the packs bought. The users' own choice: it reads and writes nothing
        the auctions and reactions do and draws from its own stream, so it can run beside them."""
        if not self.sticker_store_open:
            return 0
        self.users.take_free_stickers(self.p.free_pack_rate)
        price_ratio = self.platform.levers.sticker_price_usd / PARAMS["sticker_price_usd"].default
        return self.users.buy_stickers(self.p.sticker_purchase_rate * self.sticker_boost, price_ratio)

    def sell_virtual_goods(self, packs: int) -> None:
        """The day's sticker ``packs`` are paid for (F2)."""
        if self.sticker_store_open:
            self.ledger.book(USERS, PLATFORM, "stickers", packs * self.platform.levers.sticker_price_usd)

    def adapt_organisations(self) -> None:
        """Firms, providers and advertisers adapt to the day they had."""
        for firm in self.firms.members:
            firm.adapt()
        for kind in (SolutionProvider, Advertiser):
            self.agents_by_type[kind].do("adapt")

    @property
    def advertisers(self) -> list[Advertiser]:
        return list(self.agents_by_type[Advertiser])

    @property
    def click_to_chat_budget_usd(self) -> float:
        """All firms' click-to-chat budgets for a day at the start (A3; firms then adapt theirs)."""
        return self.p.ctwa_budget_per_user_year * self.p.n_users / 365

    def found_small_business(self, rng: np.random.Generator, size: int | None = None) -> SmallBusiness:
        """A small business with ``size`` customers (default: lognormal, heavy-tailed, mean
        ``smb_relations_per_user`` x users / ``n_smbs``) in one cluster of the graph, and a
        share of the SMBs' click-to-chat budget in proportion to its size (of at least one
        customer each, so of at least ``n_smbs`` customers in all)."""
        p = self.p
        users = self.users
        relations = p.smb_relations_per_user * len(users)
        if size is None:
            sigma = p.smb_size_sigma
            size = max(1, round(relations / p.n_smbs * rng.lognormal(-sigma**2 / 2, sigma)))
        customers = _local_block(size, users.business_affinity, users.most_business_affinity, rng)
        budget = self.click_to_chat_budget_usd * p.smb_click_to_chat_share * size / max(relations, p.n_smbs)
        return SmallBusiness(self, customers, int(users.region[customers[0]]), ad_budget_usd=budget,
                             margin=float(rng.uniform(p.smb_margin_low, p.smb_margin_high)),
                             real_firms=p.real_smbs / p.n_smbs)

    def move_to_business_platform(self, firm: SmallBusiness, movers: Movers) -> Enterprise:
        """The real firms of a small business's cohort that outgrew the app join the Business
        Platform (B3) with their customers and share of the ad budget: into the region's
        cohort of former small businesses (made the first time, then seeking a provider),
        all of them adopters, starting with authentication."""
        cohort = self._graduates.get(firm.region)
        if cohort is None:
            cohort = Enterprise(self, movers.customers, firm.region, ad_budget_usd=movers.ad_budget_usd,
                                real_firms=movers.real_firms, potential_firms=movers.real_firms)
            self._graduates[firm.region] = cohort
            return cohort
        cohort.potential_firms += movers.real_firms
        cohort.admit(movers.real_firms, movers.customers, movers.ad_budget_usd)
        return cohort

    # --- set-up --------------------------------------------------------------------------
    def _create_organisations(self, rng: np.random.Generator) -> None:
        p = self.p
        users = self.users
        n_nodes = len(users)
        # heavier messagers deal with more firms
        affinity, most = users.business_affinity, users.most_business_affinity

        for size in _firm_sizes(p.n_smbs, p.smb_relations_per_user * n_nodes, p.smb_size_sigma, rng):
            self.found_small_business(rng, int(size))

        self.solution_providers = [
            SolutionProvider(self, float(rng.uniform(0, p.bsp_markup_max)),
                             float(rng.uniform(0, p.bsp_monthly_fee_max_usd)), p.bsp_onboarding_capacity)
            for _ in range(p.n_solution_providers)
        ]
        sizes = _firm_sizes(p.n_enterprises, p.enterprise_relations_per_user * n_nodes,
                            p.enterprise_size_sigma, rng)
        enterprise_budget = self.click_to_chat_budget_usd * (1 - p.smb_click_to_chat_share)
        for size, share in zip(sizes, (sizes / sizes.sum()).tolist(), strict=True):
            customers = spread_customers(size, affinity, most, rng)
            firm = Enterprise(self, customers, _home_region(customers, users.region, rng),
                              ad_budget_usd=enterprise_budget * share, real_firms=p.real_enterprises * share,
                              potential_firms=p.platform_potential_firms * share)
            growth = bass_adoptions(firm.real_firms, firm.market_potential(), p, 1.0) / firm.real_firms
            firm.utility_share, firm.marketing_share = upsold_shares(growth, p)
            fees = firm.expected_daily_fees_usd()  # on the platform at day 0, with the cheapest provider
            min(self.solution_providers, key=lambda s, f=firm, c=fees: s.daily_cost(f, c)).onboard(firm)
        for provider in self.solution_providers:  # day 0's clients take none of day 1's capacity
            provider.adapt()

        for cls, count, share in ((Airline, p.n_airlines, p.airline_reach), (Bank, p.n_banks, p.bank_reach),
                                  (Shop, p.n_shops, p.shop_reach)):
            for size in _firm_sizes(count, share * n_nodes, p.partner_size_sigma, rng):
                customers = spread_customers(size, affinity, most, rng)
                cls(self, customers, _home_region(customers, users.region, rng))

        region_weight = np.array([getattr(p, f"region_weight_{r}") for r in REGIONS])
        spend_weight = region_weight * self.platform.ad_price_index
        regions = rng.choice(len(REGIONS), p.n_advertisers, p=spend_weight / spend_weight.sum())
        budgets = rng.lognormal(0, p.advertiser_budget_sigma, p.n_advertisers)
        budgets *= p.ad_budget_per_user_year * p.n_users / 365 / budgets.sum()
        targets = interest_draws(p.n_interests, p.n_advertisers, rng)
        brands = rng.random(p.n_advertisers) < p.brand_advertiser_share
        for region, budget, target, brand in zip(regions, budgets, targets, brands, strict=True):
            sigma = p.advertiser_value_sigma
            worth = self.platform.ad_price_index[region] * rng.lognormal(-sigma**2 / 2, sigma)  # mean: index
            Advertiser(self, int(region), float(budget), float(p.click_value_usd * worth),
                       p.sponsored_budget_share, int(target),
                       impression_value_usd=float(brand * p.brand_cpm_value_usd / 1000 * worth),
                       influencer_share=brand * p.influencer_budget_share)

    def _schedule_events(self) -> None:
        """Dated events fire half a day before the recorded day they belong to (Mesa events;
        ``model.events.event_time``); the privacy and policy events, and the data-sharing lever
        they move, are ``policy``'s. The weekly caps and the firms' monthly reviews run from the
        burn-in on."""
        p = self.p
        self.schedule_recurring(self.platform.roll_weekly_caps, Schedule(interval=1, start=0.5))
        month = Schedule(interval=DAYS_PER_MONTH, start=DAYS_PER_MONTH + 0.5)
        self.schedule_recurring(self.firms.review_month, month)
        self.policy = PolicyTimeline(self, self.users, self.levers, burn_in_days=p.burn_in_days)
        if p.shopping_section:
            self.schedule_event(self.open_shopping_section,
                                at=event_time(p.shopping_launch_day, p.burn_in_days))
        if p.virtual_goods:
            self.schedule_event(self.open_sticker_store,
                                at=event_time(p.virtual_goods_launch_day, p.burn_in_days))

    def open_shopping_section(self) -> None:
        self.shopping_section_open = True

    def open_sticker_store(self) -> None:
        self.sticker_store_open = True
        p = self.p
        for day_of_year in (p.holiday_valentines_day, p.holiday_diwali_day, p.holiday_christmas_day):
            first = event_time(day_of_year, p.burn_in_days)  # recorded day 1 is 1 January
            while first < self.time:
                first += 365
            self.schedule_recurring(self.start_holiday_drop, Schedule(interval=365, start=first))

    @property
    def sticker_boost(self) -> float:
        """The purchase boost of today's sticker sales: ``holiday_sticker_boost`` while any
        holiday drop runs."""
        return self.p.holiday_sticker_boost if self._drops_running else 1.0

    def start_holiday_drop(self) -> None:
        """A limited-edition week (F2): users buy more, and brands pay for branded packs."""
        self._drops_running += 1
        for advertiser in self.agents_by_type[Advertiser]:
            pack_usd = self.p.brand_pack_budget_share * DAYS_PER_MONTH * advertiser.daily_budget_usd
            self.ledger.book(advertiser.account, PLATFORM, "stickers", pack_usd)
        self.schedule_event(self.end_holiday_drop, after=self.p.holiday_drop_days)

    def end_holiday_drop(self) -> None:
        self._drops_running -= 1


def _firm_sizes(count: int, total: float, sigma: float, rng) -> np.ndarray:
    """Customer counts of ``count`` firms: lognormal shares of ``total`` (heavy-tailed)."""
    weights = rng.lognormal(0.0, sigma, count)
    return np.maximum(np.round(total * weights / weights.sum()), 1).astype(np.int64)


def _home_region(customers: np.ndarray, region: np.ndarray, rng) -> int:
    """A spread-out firm's region: that of one of its ``customers`` drawn at random, so such
    firms fall in each region in proportion to their customers there. (The ids are sorted by
    region, so the first customer's region put nearly every large firm in the first.)"""
    return int(region[customers[rng.integers(len(customers))]])


def _local_block(size: int, affinity: np.ndarray, most_affinity: float, rng) -> np.ndarray:
    """A local business's customers: users of one run of neighbouring nodes on the ring, i.e.
    one cluster of the social graph (B1: local businesses), each kept in proportion to her
    business affinity (``most_affinity``: the largest; at least one). Sorted, as every firm's
    customers are: a run that wraps round the ring's end starts again at id 0."""
    n_nodes = len(affinity)
    width = min(int(np.ceil(size * most_affinity)), n_nodes)
    span = (int(rng.integers(n_nodes)) + np.arange(width)) % n_nodes
    customers = span[rng.random(len(span)) * most_affinity < affinity[span]].astype(np.int32)
    return np.sort(customers) if len(customers) else span[:1].astype(np.int32)


def _signature() -> inspect.Signature:
    """Show every schema parameter as a keyword argument with its default (Mesa tools and
    SolaraViz read the signature)."""
    kw = [inspect.Parameter("rng", inspect.Parameter.KEYWORD_ONLY, default=None)]
    kw += [inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=p.default)
           for name, p in PARAMS.items()]
    return inspect.Signature([inspect.Parameter("self", inspect.Parameter.POSITIONAL_ONLY), *kw])


WhatsAppMarket.__init__.__signature__ = _signature()
