"""Enterprises on the Business Platform (B2): each agent is a cohort of real firms of one kind
that take up the platform by Bass diffusion and are upsold from authentication to utility to
marketing; template messages billed per message at the recipient's regional rate; service
conversations answered by staff or a chatbot; CRM and analytics (G1); click-to-chat ads."""

from __future__ import annotations

import numpy as np

from agents.business import Business, Plan
from model.channels import chat_app_appeal, sms_prices, whatsapp_share
from model.params import DAYS_PER_MONTH
from model.sampling import sorted_union, spread_customers


class Enterprise(Business):
    """A cohort of ``real_firms`` adopters (of ``potential_firms`` that could adopt) who joined
    the Business Platform through a solution provider (B4): they send templates, answer chats
    and buy click-to-chat ads, and pay their provider a markup and a fee each."""

    def __init__(self, model, customers, region: int, ad_budget_usd: float, real_firms: float,
                 potential_firms: float, utility_share: float = 0.0, marketing_share: float = 0.0):
        super().__init__(model, customers, region, ad_budget_usd, model.p.enterprise_margin, real_firms)
        self.potential_firms = potential_firms
        self.utility_share = utility_share
        """Share of its adopters upsold to utility templates (all send authentication)."""
        self.marketing_share = marketing_share
        """Share of its adopters upsold to marketing too (a part of ``utility_share``)."""
        self.provider = None
        self.chatbot = False
        self.crm = False
        self.service_cost_usd = 0.0
        self._chats_month = 0
        self._sales_at_review = 0.0

    @property
    def conversion_factor(self) -> float:
        """CRM and analytics put the right offer before the right customer (G1)."""
        return 1 + self.model.p.crm_conversion_uplift * self.crm

    @property
    def tool_fees_usd_month(self) -> float:
        """What its chatbot and CRM cost one real firm a month, billed by its provider (B4)."""
        p = self.model.p
        return p.chatbot_fee_usd_month * self.chatbot + p.crm_fee_usd_month * self.crm

    @property
    def cost_per_chat_usd(self) -> float:
        """Staff answer service chats at ``service_cost_per_chat_usd``; a chatbot settles
        ``chatbot_deflection`` of them at no cost per chat (G1, B4)."""
        p = self.model.p
        return p.service_cost_per_chat_usd * (1 - p.chatbot_deflection * self.chatbot)

    @property
    def markup_share(self) -> float:
        """Its provider's markup on Meta's fee: part of the price it weighs against SMS."""
        return 0.0 if self.provider is None else self.provider.markup_share

    def plan(self) -> Plan:
        """Nothing until a provider has onboarded it (B4); then codes from all its adopters,
        utility and marketing from those upsold to them."""
        if self.provider is None:
            return Plan()
        p = self.model.p
        return Plan(chat=p.chat_rate, utility=p.utility_rate * self.utility_share,
                    authentication=p.authentication_rate, marketing=p.marketing_rate * self.marketing_share,
                    conversion_factor=self.conversion_factor, on_business_platform=True,
                    buys_click_to_chat=True)

    def close_day(self, sales_usd: float, ad_sales_usd: float, ad_cost_usd: float, chats: int) -> None:
        super().close_day(sales_usd, ad_sales_usd, ad_cost_usd, chats)
        self._chats_month += chats

    def review_tools(self) -> None:
        """Once a month, per real firm: keep a chatbot if the staff time it saves on last
        month's chats pays its fee, and CRM if the margin on the sales it adds does
        (cost-benefit adoption, the rule small businesses follow for Business App tools)."""
        p = self.model.p
        chats = self.per_real_firm(self._chats_month)
        self.chatbot = chats * p.service_cost_per_chat_usd * p.chatbot_deflection >= p.chatbot_fee_usd_month
        sales = self.per_real_firm(self.sales_usd - self._sales_at_review) / self.conversion_factor
        self.crm = self.margin * sales * p.crm_conversion_uplift >= p.crm_fee_usd_month
        self._chats_month = 0
        self._sales_at_review = self.sales_usd

    # --- diffusion and upsell (B2, B4) --------------------------------------------------------
    def market_potential(self) -> float:
        """Its firms for which WhatsApp beats SMS and e-mail for one-time codes, the entry
        product (SOURCES.md#business-adoption): ``potential_firms`` x WhatsApp's logit share
        at the price it would pay, markup included. A dearer WhatsApp shrinks it; the shift
        of traffic to chat apps grows it."""
        p = self.model.p
        price = self.model.platform.levers.rate_card["authentication"][self.region] * (1 + self.markup_share)
        appeal = chat_app_appeal(p, "authentication", self.model.trend_day)
        return self.potential_firms * float(whatsapp_share(price, sms_prices(p)[self.region], appeal, p))

    def diffuse(self) -> None:
        """A month of diffusion and upsell: adopters already there move up a tier at
        ``upsell_per_year``; new adopters come by Bass (``bass_adoptions``), start with
        authentication, and bring their own customers, as many per firm as the cohort's."""
        p = self.model.p
        years = DAYS_PER_MONTH / 365
        step = min(p.upsell_per_year * years, 1.0)
        self.marketing_share += step * (self.utility_share - self.marketing_share)
        self.utility_share += step * (1 - self.utility_share)
        new = bass_adoptions(self.real_firms, self.market_potential(), p, years)
        if new > 0:
            users = self.model.users
            self.admit(new, spread_customers(len(self.customers) * new / self.real_firms,
                                             users.business_affinity, users.most_business_affinity, self.rng))

    def admit(self, firms: float, customers: np.ndarray, ad_budget_usd: float = 0.0) -> None:
        """``firms`` new adopters join the cohort with their ``customers`` (and click-to-chat
        budget); they start with authentication, so the upsold shares thin out."""
        kept = self.real_firms / (self.real_firms + firms)
        self.utility_share *= kept
        self.marketing_share *= kept
        self.customers = sorted_union(self.customers, customers)
        self.real_firms += firms
        self.ad_budget_usd += ad_budget_usd
        self.model.firms.customers_changed()

    # --- providers (B4) ---------------------------------------------------------------------
    def seek_provider(self) -> None:
        """Sign with the provider that costs least for this firm's expected Meta fees,
        among those with onboarding room today (B4)."""
        open_ = [s for s in self.model.solution_providers if s.has_room()]
        if open_:
            fees = self.expected_daily_fees_usd()
            min(open_, key=lambda s: s.daily_cost(self, fees)).onboard(self)

    def expected_daily_fees_usd(self) -> float:
        """Meta fees at the rate card's mean, for the intended sends of its adopters (codes)
        and upsold adopters (utility, marketing) to today's typical active customers (a rough
        figure a firm can know in advance)."""
        p = self.model.p
        card = self.model.platform.levers.rate_card
        sends = len(self.customers) * p.daily_active_mean
        return sends * (p.authentication_rate * card["authentication"].mean()
                        + p.utility_rate * self.utility_share * card["utility"].mean()
                        + p.marketing_rate * self.marketing_share * card["marketing"].mean())

    def provider_fees_usd(self, meta_fees_usd: float) -> float:
        """Today's bill from its provider for ``meta_fees_usd`` paid to the platform."""
        return self.provider.daily_cost(self, meta_fees_usd)


def bass_adoptions(adopters: float, potential: float, p, years: float) -> float:
    """New adopters over ``years`` by Bass diffusion ([bass1969]; p, q of [sultan1990meta]):
    (p + q A / M) (M - A) years; none once the adopters A reach the potential M (a dearer
    WhatsApp can shrink M below A: firms then stop joining, none leave)."""
    if potential <= adopters:
        return 0.0
    rate = p.bass_innovation_per_year + p.bass_imitation_per_year * adopters / potential
    return rate * (potential - adopters) * years


def upsold_shares(growth_per_year: float, p) -> tuple[float, float]:
    """Shares of a cohort's adopters on utility and on marketing in the steady state of a
    cohort growing at ``growth_per_year`` whose new adopters start with authentication and
    move up a tier at ``upsell_per_year``: r / (g + r) and its square."""
    rate = p.upsell_per_year
    if rate <= 0:
        return 0.0, 0.0
    up = rate / (max(growth_per_year, 0.0) + rate)
    return up, up * up
