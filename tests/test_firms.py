"""The firms' one trade path (agents/firms.py): each firm's draws at its own rate, prices and
fees that move volumes, providers, tools, payments; with fixed seeds."""

import math

import numpy as np
import pytest
from conftest import SMALL, run_model, totals

from agents import Enterprise, SmallBusiness
from agents.business import Business, carry_over
from model.ledger import PLATFORM
from model.market import WhatsAppMarket
from model.params import PARAMS, REGIONS

SEEDS = range(4)


def test_every_firm_is_drawn_at_its_own_rate_and_clickers_are_distinct():
    """One draw over all firms' customers, thinned by each firm's rate, gives each firm the
    chats of its own coin per active customer (a binomial count each)."""
    model = WhatsAppMarket(rng=8, **SMALL)
    model.step()
    firms = model.firms
    rate = np.linspace(0.01, 0.2, len(firms))
    active = np.array([np.count_nonzero(model.users.active_today[f.customers]) for f in firms.members])
    counts = sum(np.bincount(firms.draw(rate)[1], minlength=len(firms)) for _ in range(200))
    expected = 200 * rate * active
    z = (counts - expected) / np.sqrt(expected * (1 - rate))
    assert np.all(np.abs(z) < 4.5)  # ~70 firms: |z| > 4.5 has chance ~5e-4 under the law
    clickers, owner, cost = firms.buy_clicks_to_chat(firms.plans())
    assert len(clickers) > 0 and len(np.unique(clickers)) == len(clickers)
    assert np.all(model.users.active_today[clickers])
    assert np.array_equal(model.users.region[clickers], firms.region[owner])
    buyers = np.array([isinstance(f, SmallBusiness | Enterprise) for f in firms.members])
    assert cost[~buyers].sum() == 0 and cost[buyers].sum() > 0


@pytest.mark.parametrize("top", [2.0, 6.0])
def test_a_firm_s_rate_above_one_draws_every_active_customer_and_leaves_the_others_rates_alone(top):
    """A chat rate times a premium uplift may pass 1 inside the schema's ranges: that firm
    reaches every active customer, and the coins of the others keep their own rates."""
    model = WhatsAppMarket(rng=8, **SMALL)
    model.step()
    firms = model.firms
    rate = np.full(len(firms), 0.3)
    rate[0] = top
    active = np.array([np.count_nonzero(model.users.active_today[f.customers]) for f in firms.members])
    counts = sum(np.bincount(firms.draw(rate)[1], minlength=len(firms)) for _ in range(50))
    assert counts[0] == 50 * active[0] > 0
    expected = 50 * 0.3 * active[1:]
    z = (counts[1:] - expected) / np.sqrt(expected * 0.7)
    assert np.all(np.abs(z) < 4.5)  # ~70 firms: |z| > 4.5 has chance ~5e-4 under the law


def test_drawn_users_are_active_customers_of_the_firm_that_drew_them():
    model = WhatsAppMarket(rng=9, **SMALL)
    model.step()
    firms = model.firms
    rate = np.where(np.arange(len(firms)) % 2 == 0, 0.5, 0.0)  # firms without coins in between
    users, owner = firms.draw(rate)
    assert len(users) > 100 and np.all(rate[owner] > 0) and np.all(model.users.active_today[users])
    for f in np.unique(owner):
        assert np.isin(users[owner == f], firms.members[f].customers).all()


def test_a_budget_below_one_click_buys_clicks_every_few_days_by_carrying_over():
    cpc, carry, clicks = 0.05, 0.0, []
    budget = 0.4 * cpc
    for _ in range(10):
        available = budget + carry
        bought = int(available // cpc)
        carry = float(carry_over(available, bought * cpc, cpc))
        clicks.append(bought)
    assert clicks == [0, 0, 1, 0, 1, 0, 0, 1, 0, 1]  # 0.4 of a click a day: 4 in 10 days
    assert carry == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize(("sales_usd", "change"), [
    (2.0, 1.02),   # the clicks paid (margin x sales over cost above 1): more budget
    (0.5, 0.98),   # they did not: less
])
def test_a_firm_s_ad_budget_follows_the_return_on_its_ads(sales_usd, change):
    """The month's averages of ad cost and ad sales each move 1/30 of the way to today's; the
    budget moves by ``budget_adapt_step`` toward ads that pay."""
    model = WhatsAppMarket(rng=1, **SMALL)
    firm = model.firms.of_type(SmallBusiness)[0]
    firm.margin, firm.ad_budget_usd = 1.0, 100.0
    firm.close_day(sales_usd=sales_usd, ad_sales_usd=sales_usd, ad_cost_usd=1.0, chats=0)
    Business.adapt(firm)
    assert firm.ad_cost_avg == pytest.approx(1 / 30) and firm.ad_sales_avg == pytest.approx(sales_usd / 30)
    assert firm.ad_budget_usd == pytest.approx(100.0 * change)


def test_a_firm_without_ad_spend_keeps_its_budget():
    model = WhatsAppMarket(rng=1, **SMALL)
    firm = model.firms.of_type(SmallBusiness)[0]
    firm.ad_budget_usd = 100.0
    firm.close_day(sales_usd=5.0, ad_sales_usd=0.0, ad_cost_usd=0.0, chats=3)
    Business.adapt(firm)
    assert firm.ad_budget_usd == 100.0


def test_no_organisation_spends_beyond_its_budget():
    """Day by day: an advertiser's auction spend stays within its daily budget, a firm's
    click-to-chat spend within its ad budget and yesterday's carry-over (under one click).
    Over the month, each spends no more than the sum of its daily budgets."""
    model = WhatsAppMarket(rng=2, **SMALL)
    ledger = model.ledger
    close = model.platform.close_day
    spend = {}

    def recording_close():
        for a in model.advertisers:
            spend[a] = float(ledger.paid_today(a.account, "display_ads", "sponsored"))
        for f in model.firms.members:
            spend[f] = float(ledger.paid_today(f.account, "click_to_chat"))
        close()

    model.platform.close_day = recording_close
    month_spend, month_budget = {}, {}
    for _ in range(30):
        daily = {a: a.daily_budget_usd * (1 - a.influencer_share) for a in model.advertisers}
        daily |= {f: f.ad_budget_usd for f in model.firms.members}
        budgets = {o: budget + getattr(o, "ad_carry_usd", 0.0) for o, budget in daily.items()}
        model.step()
        for organisation, spent in spend.items():
            assert spent <= budgets[organisation] * (1 + 1e-9), organisation
            month_spend[organisation] = month_spend.get(organisation, 0.0) + spent
            month_budget[organisation] = month_budget.get(organisation, 0.0) + daily[organisation]
    assert sum(spend.values()) > 0
    for organisation, spent in month_spend.items():  # a carry-over is money saved, not extra
        assert spent <= month_budget[organisation] * (1 + 1e-9), organisation


def test_a_dearer_merchant_fee_lowers_merchant_payment_volume():
    """Same seed, same orders: only the share paid in the chat changes, by the elasticity, and
    the fee revenue by that share times the fee. A fifth of users linked at day 0 makes sure
    some pay on Brazil's card rail (the default's 5% may leave it empty in a small world)."""
    linked = dict(payments_adoption_initial=0.2)
    base = totals(30, 1, **linked)
    dear = totals(30, 1, **linked, merchant_fee_rate=0.08)
    expected = (0.08 / 0.0399) ** -1.5
    assert dear["payment_volume_merchant"] == pytest.approx(expected * base["payment_volume_merchant"],
                                                           rel=1e-9)
    assert base["revenue_payments"] > 0
    assert dear["revenue_payments"] == pytest.approx(expected * 0.08 / 0.0399 * base["revenue_payments"],
                                                     rel=1e-9)
    cheap = totals(30, 1, **linked, merchant_fee_rate=0.01)
    assert cheap["payment_volume_merchant"] == pytest.approx(base["payment_volume_merchant"], rel=1e-9)


def test_free_utility_messages_stay_on_whatsapp_however_dear_the_paid_ones():
    """At 18 times the utility rate card (channel_price_coefficient 2: WhatsApp's odds 1/324
    of today's) about 0.4% of paid alerts stay on WhatsApp; the free ones inside a service
    window all do (measured: the free count moves by a few % with the shifted draws)."""
    base = totals(20, 1, chat_rate=0.3, channel_price_coefficient=2.0)
    prices = {f"price_utility_{r}_usd": 18 * PARAMS[f"price_utility_{r}_usd"].default for r in REGIONS}
    dear = totals(20, 1, chat_rate=0.3, channel_price_coefficient=2.0, **prices)
    assert base["messages_utility_free"] > 100
    assert dear["messages_utility_free"] == pytest.approx(base["messages_utility_free"], rel=0.15)
    paid = dear["messages_utility"] - dear["messages_utility_free"]
    assert paid < 0.05 * (base["messages_utility"] - base["messages_utility_free"])


def test_utility_messages_inside_an_open_service_window_are_free():
    """With many chats, many utility updates fall inside a window: free, so utility revenue is
    the price of the paid ones only (one price in every region, so that the mix of regions
    and senders cannot blur it); with no chats, nothing is free."""
    uniform = {f"price_utility_{r}_usd": 0.01 for r in REGIONS}
    busy = run_model(days=20, seed=1, chat_rate=0.3, **uniform)
    quiet = totals(20, 1, chat_rate=0.0, **uniform)
    day = busy.datacollector.get_model_vars_dataframe().sum()
    assert quiet["messages_utility_free"] == 0
    assert quiet["revenue_utility"] == pytest.approx(0.01 * busy.scale * quiet["messages_utility"], rel=1e-9)
    assert 0.1 < day["messages_utility_free"] / day["messages_utility"] < 1
    paid = day["messages_utility"] - day["messages_utility_free"]
    assert day["revenue_utility"] == pytest.approx(0.01 * busy.scale * paid, rel=1e-9)


def without_providers(model: WhatsAppMarket) -> list[Enterprise]:
    """The model's enterprises, each waiting for a provider (as a cohort of small firms that
    moved up does)."""
    enterprises = model.firms.of_type(Enterprise)
    for e in enterprises:
        e.provider.clients -= 1
        e.provider = None
    return enterprises


def test_providers_onboard_within_capacity_and_waiting_enterprises_send_nothing():
    model = WhatsAppMarket(rng=4, **SMALL, n_solution_providers=2, bsp_onboarding_capacity=1)
    enterprises = without_providers(model)
    for day in range(1, 8):
        waiting = [e for e in enterprises if e.provider is None]
        model.step()
        onboarded = [e for e in enterprises if e.provider is not None]
        assert len(onboarded) == min(2 * day, len(enterprises))
        assert all(model.ledger.paid_by(e.account) == 0 for e in waiting)  # they trade from tomorrow
    assert model.today["enterprises_onboarded"] == len(enterprises)


def test_enterprises_pick_the_cheapest_provider_and_pay_it_in_the_books_outside_revenue():
    model = WhatsAppMarket(rng=5, **SMALL, bsp_onboarding_capacity=100)
    without_providers(model)
    for _ in range(10):
        model.step()
    ledger = model.ledger
    providers = model.solution_providers
    for e in model.firms.of_type(Enterprise):
        fees = e.expected_daily_fees_usd()
        costs = [s.markup_share * fees + s.monthly_fee_usd / 30 * e.real_firms / model.scale
                 for s in providers]
        assert e.provider is providers[int(np.argmin(costs))]
    paid = sum(ledger.paid_by(e.account, "provider_fees") for e in model.firms.of_type(Enterprise))
    assert paid == pytest.approx(sum(s.takings_usd for s in providers)) and paid > 0
    revenue = model.datacollector.get_model_vars_dataframe()["revenue_total"].sum()
    assert ledger.received_by(PLATFORM) * model.scale == pytest.approx(revenue)


def test_a_provider_bills_the_markup_on_the_day_s_meta_fees_and_a_30th_of_its_monthly_fees():
    model = run_model(days=5, seed=2)
    ledger = model.ledger
    firm = next(e for e in model.firms.of_type(Enterprise) if e.provider is not None)
    before = ledger.paid_by(firm.account, "provider_fees")
    close = model.platform.close_day
    seen = {}

    def recording_close():
        seen["meta"] = float(ledger.paid_today(firm.account, "marketing", "utility", "authentication",
                                               "service"))
        seen["bill"] = float(ledger.paid_today(firm.account, "provider_fees"))
        close()

    model.platform.close_day = recording_close
    model.step()
    assert seen["meta"] > 0
    monthly = firm.provider.monthly_fee_usd + firm.tool_fees_usd_month
    expected = firm.provider.markup_share * seen["meta"] + firm.simulated_usd(monthly / 30)
    assert seen["bill"] == pytest.approx(expected, rel=1e-9)
    assert ledger.paid_by(firm.account, "provider_fees") - before == pytest.approx(expected, rel=1e-9)


def enterprise_month(fee_usd: float, seed: int, **params) -> tuple[list, WhatsAppMarket]:
    """Enterprises after one tool review (day 31) and a month with the tools it chose,
    with chatbot and CRM both at ``fee_usd`` a month."""
    model = run_model(days=31, seed=seed, chatbot_fee_usd_month=fee_usd, crm_fee_usd_month=fee_usd,
                      **params)
    firms = model.firms.of_type(Enterprise)
    before = [(e.sales_usd, e.service_cost_usd, e._chats_month) for e in firms]
    for _ in range(29):
        model.step()
    month = [(e.sales_usd - s, e.service_cost_usd - c, e._chats_month - n)
             for e, (s, c, n) in zip(firms, before, strict=True)]
    return month, model


def test_chatbots_are_bought_when_they_pay_and_cut_the_cost_of_each_chat():
    p = PARAMS
    for fee, adopted in ((0.0, True), (1e6, False)):
        month, model = enterprise_month(fee, seed=2)
        firms = model.firms.of_type(Enterprise)
        assert all(e.chatbot is adopted and e.crm is adopted for e in firms), fee
        cost_per_chat = sum(c for _, c, _ in month) / sum(n for _, _, n in month)
        staff = p["service_cost_per_chat_usd"].default
        share = 1 - p["chatbot_deflection"].default if adopted else 1.0
        assert cost_per_chat == pytest.approx(staff * share, rel=1e-9)
        running = len(firms) if adopted else 0
        assert model.today["enterprises_chatbot"] == running and model.today["enterprises_crm"] == running


@pytest.mark.parametrize("kind", [Enterprise, SmallBusiness])
def test_tools_raise_conversion_by_their_uplift(kind):
    """The same chats, converted many times at a firm's plan with and without its tools
    (CRM for an enterprise, five Business App tools for a small business): buyers rise by
    the uplift, within four binomial standard errors of the ratio."""
    model = run_model(days=1, seed=2, tool_initial_share=1.0, tool_conversion_uplift=0.1)
    firms = model.firms
    f = next(i for i, firm in enumerate(firms.members)
             if isinstance(firm, kind) and firm.plan().conversion_factor)
    firm = firms.members[f]
    chats = np.flatnonzero(model.users.active_today)
    owner = np.full(len(chats), f)
    buyers = {}
    for tools in (False, True):
        if kind is Enterprise:
            firm.crm = tools
        else:
            firm.tools = set(firm.tools | {"profile", "greetings", "quick_replies", "labels", "catalog"}) \
                if tools else set()
        rate = model.p.chat_conversion * firms.plans().conversion_factor
        buyers[tools] = sum(len(firms.convert(chats, owner, rate)[0]) for _ in range(100))
    uplift = 1 + model.p.crm_conversion_uplift if kind is Enterprise else 1.1**5
    ratio = buyers[True] / buyers[False]
    se = ratio * math.sqrt(1 / buyers[True] + 1 / buyers[False])
    assert ratio == pytest.approx(uplift, abs=4 * se) and se < 0.06


def test_an_enterprise_s_provider_bills_its_chatbot_and_crm_fees_per_real_firm():
    model = run_model(days=1, seed=2, crm_fee_usd_month=90.0, chatbot_fee_usd_month=60.0)
    firm = next(e for e in model.firms.of_type(Enterprise) if e.provider is not None)
    bills = {}
    for tools in ((False, False), (False, True), (True, True)):
        firm.chatbot, firm.crm = tools
        bills[tools] = firm.provider.daily_cost(firm, 1.0)
    assert bills[False, True] - bills[False, False] == pytest.approx(firm.simulated_usd(3.0), rel=1e-9)
    assert bills[True, True] - bills[False, True] == pytest.approx(firm.simulated_usd(2.0), rel=1e-9)


def test_dearer_providers_cut_their_clients_marketing():
    """Through the whole model, seed by seed: providers with markups up to 200% make WhatsApp
    dearer against SMS for their clients, who send less of their marketing by it (the
    channel choice itself is pinned by tests/test_channels.py)."""
    cheap = [totals(20, seed, bsp_markup_max=0.0)["messages_marketing"] for seed in SEEDS]
    dear = [totals(20, seed, bsp_markup_max=2.0)["messages_marketing"] for seed in SEEDS]
    assert all(d < c for d, c in zip(dear, cheap, strict=True))


def test_business_app_tools_spread_by_imitation():
    """Imitation raises adoption through the whole model, seed by seed (the same seeds with
    and without it); the chance a firm adopts a tool is ``tool_adoption_rate`` x (1 +
    ``tool_imitation_weight`` x the share of firms using it)."""
    def tools_after(weight, seed):
        # no firm moves to the Business Platform or exits before day 91: the same firms throughout
        model = WhatsAppMarket(rng=seed, n_users=10_000, tool_imitation_weight=weight,
                               api_move_chats_per_day=1e6, burn_in_days=0)
        history = []
        for _ in range(90):
            model.step()
            history.append(model.today["smb_tools_mean"])
        assert np.all(np.diff(history) >= 0)  # tools are kept
        return history[-1] - history[0]

    for seed in range(3):
        assert tools_after(5.0, seed) > tools_after(0.0, seed) > 0


def test_premium_small_businesses_pay_a_30th_of_the_monthly_price_a_day():
    model = run_model(days=1, seed=3, premium_price_usd_month=12.0)
    smbs = model.firms.of_type(SmallBusiness)
    for firm in smbs:
        firm.premium = True
    close = model.platform.close_day
    paid = {}

    def recording_close():
        paid.update({f: float(model.ledger.paid_today(f.account, "subscriptions")) for f in smbs})
        close()

    model.platform.close_day = recording_close
    model.step()
    for firm in smbs:
        assert paid[firm] == pytest.approx(firm.simulated_usd(12.0 / 30), rel=1e-12)


@pytest.mark.parametrize("invite", [0.0, 1.0])
def test_p2p_transfers_go_to_contacts_on_the_platform_who_link_to_receive(invite):
    """Every transfer goes from a linked sender to one of her contacts on the platform;
    the recipient ends linked: she was, or she linked when asked (never, or always)."""
    model = WhatsAppMarket(rng=3, **SMALL, p2p_rate=0.5, payments_adoption_initial=0.3,
                           p2p_invite_link_prob=invite)
    model.step()
    users = model.users
    linked_before = users.payments_linked.copy()
    senders, recipients = model.firms.transfer_p2p()
    assert len(senders) > 0
    assert np.all(users.graph[senders, recipients] > 0)  # each pair is a tie of the graph
    assert users.on_platform[recipients].all() and users.payments_linked[recipients].all()
    newly_linked = users.payments_linked & ~linked_before
    if invite == 0:
        assert linked_before[recipients].all() and not newly_linked.any()
    else:
        assert newly_linked.any() and set(np.flatnonzero(newly_linked)) <= set(recipients)
        linked = (users.payments_linked & users.joined).astype(np.float32)  # joined contacts who pay
        assert np.array_equal(users.linked_contacts[0], users.graph @ linked)


def test_a_p2p_fee_deters_transfers_linearly_up_to_the_cutoff():
    """Half the cutoff fee halves the transfers made the same day (counted over 50 draws,
    within four binomial standard errors); at the cutoff none is made."""
    model = WhatsAppMarket(rng=3, **SMALL, p2p_rate=0.5, payments_adoption_initial=0.5,
                           p2p_invite_link_prob=0.0)
    model.step()
    made = {}
    for fee in (0.0, 0.05, 0.1):
        model.levers.change(p2p_fee_rate=fee)
        model.platform.open_day()
        made[fee] = sum(len(model.firms.transfer_p2p()[0]) for _ in range(50))
    ratio = made[0.05] / made[0.0]
    se = ratio * np.sqrt(1 / made[0.05] + 1 / made[0.0])
    assert made[0.1] == 0 and ratio == pytest.approx(0.5, abs=4 * se) and se < 0.03


def test_payments_spread_among_contacts():
    """Users whose contacts pay link an account sooner: with the peer weight on, adoption
    among users with linked contacts rises against users without, compared with it off."""
    def adoption_gap(weight, seed):
        model = WhatsAppMarket(rng=seed, **SMALL, payment_peer_weight=weight, payment_adoption_rate=0.01)
        users = model.users
        share = users.linked_contacts[0] / np.maximum(users.joined_contacts[0], 1)
        exposed = ~users.payments_linked & (share >= 0.2)
        unexposed = ~users.payments_linked & (share == 0)
        for _ in range(20):
            model.step()
        return users.payments_linked[exposed].mean() - users.payments_linked[unexposed].mean()

    with_peers = [adoption_gap(10.0, s) for s in SEEDS]
    without = [adoption_gap(0.0, s) for s in SEEDS]
    assert min(with_peers) > max(without)
    assert abs(np.mean(without)) < 0.03
