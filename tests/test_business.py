"""The business side (issue 4): prices and fees move volumes, targeting needs data, budgets
hold, payments spread; with fixed seeds."""

import math

import numpy as np
import pytest
from conftest import SMALL, run_model

from agents import Advertiser, Bank, Enterprise, SmallBusiness
from agents.quality import SenderQuality
from model.market import WhatsAppMarket
from model.params import PARAMS

SEEDS = range(4)


def totals(days: int, seed: int, **params):
    return run_model(days=days, seed=seed, **params).datacollector.get_model_vars_dataframe().sum()


def test_a_dearer_merchant_fee_lowers_merchant_payment_volume():
    """Same seed, same orders: only the share paid in the chat changes, by the elasticity."""
    base = totals(30, 1)
    dear = totals(30, 1, merchant_fee_rate=0.08)
    expected = (0.08 / 0.0399) ** -1.5
    assert dear["payment_volume_merchant"] == pytest.approx(expected * base["payment_volume_merchant"],
                                                           rel=1e-9)
    assert dear["revenue_payments"] < base["revenue_payments"]
    cheap = totals(30, 1, merchant_fee_rate=0.01)
    assert cheap["payment_volume_merchant"] == pytest.approx(base["payment_volume_merchant"], rel=1e-9)


def test_a_dearer_marketing_price_lowers_marketing_volume():
    prices = {f"price_marketing_{r}_usd": 2 * p for r, p in
              (("in", 0.0118), ("br", 0.0625), ("eu", 0.1365))}
    ratios = []
    for seed in SEEDS:
        base = totals(30, seed)["messages_marketing"]
        dear = totals(30, seed, **prices)["messages_marketing"]
        ratios.append(dear / base)
    # intended sends fall by 2^-0.6 = 0.66; opt-in and caps dilute the fall of deliveries
    assert max(ratios) < 0.95
    assert min(ratios) > 0.5


def test_without_data_sharing_no_impression_is_personalised_and_click_through_falls():
    for seed in SEEDS:
        off = totals(30, seed, data_sharing="off")
        on = totals(30, seed, data_sharing="mandatory")
        assert off["impressions_personalised"] == 0 and on["impressions_personalised"] > 0
        ctr_off = off["display_clicks"] / off["impressions_contextual"]
        ctr_on = on["display_clicks"] / (on["impressions_personalised"] + on["impressions_contextual"])
        assert ctr_off == pytest.approx(0.004)  # ctr_contextual
        assert ctr_on > 1.1 * ctr_off


def test_no_organisation_spends_beyond_its_budget():
    """Day by day: an advertiser's auction spend stays within its daily budget, a firm's
    click-to-chat spend within its ad budget and yesterday's carry-over (under one click), so
    over the month within the sum of its daily budgets."""
    model = WhatsAppMarket(rng=2, **SMALL)
    charges = []
    charge = model.platform.charge

    def recording_charge(payer, stream, amount_usd):
        charges.append((payer, stream, amount_usd))
        charge(payer, stream, amount_usd)

    model.platform.charge = recording_charge
    organisations = list(model.agents_by_type[Advertiser]) + list(model.agents_by_type[SmallBusiness]) \
        + list(model.agents_by_type[Enterprise])
    month_budget = dict.fromkeys(organisations, 0.0)
    month_spend = dict.fromkeys(organisations, 0.0)
    for _ in range(30):
        budgets = {a: a.daily_budget_usd if isinstance(a, Advertiser) else a.ad_budget_usd + a.ad_carry_usd
                   for a in organisations}
        for a in organisations:
            month_budget[a] += a.daily_budget_usd if isinstance(a, Advertiser) else a.ad_budget_usd
        charges.clear()
        model.step()
        spend = dict.fromkeys(organisations, 0.0)
        for payer, stream, amount in charges:
            if stream in ("display_ads", "sponsored", "click_to_chat"):
                spend[payer] += amount
        for organisation, spent in spend.items():
            assert spent <= budgets[organisation] * (1 + 1e-9), organisation
            month_spend[organisation] += spent
    for organisation, spent in month_spend.items():
        assert spent <= month_budget[organisation] * (1 + 1e-9), organisation
    assert sum(a.spent for a in model.agents_by_type[Advertiser]) > 0


def test_a_budget_below_one_click_buys_clicks_every_few_days_by_carrying_over():
    model = run_model(days=1, seed=3)
    firm = next(iter(model.agents_by_type[Enterprise]))
    cpc = 0.05
    model.platform.click_to_chat_price[:] = cpc
    firm.ad_budget_usd, firm.ad_carry_usd = 0.4 * cpc, 0.0
    clicks = [len(firm.buy_click_to_chat()) for _ in range(10)]
    assert clicks == [0, 0, 1, 0, 1, 0, 0, 1, 0, 1]  # 0.4 of a click a day: 4 in 10 days
    assert firm.ad_carry_usd == pytest.approx(0.0, abs=1e-12)


def test_payments_spread_among_contacts():
    """Users whose contacts pay link an account sooner: with the peer weight on, adoption
    among users with linked contacts rises against users without, compared with it off."""
    def adoption_gap(weight, seed):
        model = WhatsAppMarket(rng=seed, **SMALL, payment_peer_weight=weight, payment_adoption_rate=0.01)
        users = model.users
        share = users.linked_contacts[0] / users.degree
        exposed = ~users.payments_linked & (share >= 0.2)
        unexposed = ~users.payments_linked & (share == 0)
        for _ in range(20):
            model.step()
        return users.payments_linked[exposed].mean() - users.payments_linked[unexposed].mean()

    with_peers = [adoption_gap(10.0, s) for s in SEEDS]
    without = [adoption_gap(0.0, s) for s in SEEDS]
    assert min(with_peers) > max(without)
    assert abs(np.mean(without)) < 0.03


@pytest.mark.parametrize("invite", [0.0, 1.0])
def test_p2p_transfers_go_to_contacts_on_the_platform_who_link_to_receive(invite):
    """Every transfer goes from a linked sender to one of her contacts on the platform;
    the recipient ends linked: she was, or she linked when asked (never, or always)."""
    model = WhatsAppMarket(rng=3, **SMALL, p2p_rate=0.5, payments_adoption_initial=0.3,
                           p2p_invite_link_prob=invite)
    model.step()
    users = model.users
    bank = next(iter(model.agents_by_type[Bank]))
    linked_before = users.payments_linked.copy()
    senders, recipients = bank.transfer_p2p()
    assert len(senders) > 0
    assert np.all(users.graph[senders, recipients] > 0)  # each pair is a tie of the graph
    assert users.on_platform[recipients].all() and users.payments_linked[recipients].all()
    newly_linked = users.payments_linked & ~linked_before
    if invite == 0:
        assert linked_before[recipients].all() and not newly_linked.any()
    else:
        assert newly_linked.any() and set(np.flatnonzero(newly_linked)) <= set(recipients)
        linked = users.payments_linked.astype(np.float32)
        assert np.array_equal(users.linked_contacts[0], users.graph @ linked)


def test_sender_quality_tiers_fall_with_blocks_and_recover():
    quality = SenderQuality(block_rate_low=0.02, tier_base_share=0.001)
    limits = [quality.daily_limit(10_000)]
    for _ in range(5):
        quality.record(delivered=1000, blocks=100)  # 10% blocked: low quality
        quality.end_day()
        limits.append(quality.daily_limit(10_000))
    assert quality.rating == "low"
    assert limits == [math.inf, 1000, 100, 10, 10, 10]
    for _ in range(30):
        quality.record(delivered=1000, blocks=0)
        quality.end_day()
    assert quality.rating == "good" and quality.daily_limit(10_000) == math.inf


def test_a_sender_whose_quality_falls_gets_a_lower_limit_and_blockers_hear_no_more():
    model = WhatsAppMarket(rng=3, **SMALL, block_per_annoyance=0.05)
    users = model.users
    spammer = max(model.agents_by_type[Enterprise], key=lambda e: len(e.customers))
    sent = []
    send = model.platform.send

    def recording_send(sender, category, recipients, unit_price=None):
        if sender is not spammer or category != "marketing":
            return send(sender, category, recipients, unit_price)
        blocked_before = sender.blocked.copy()
        got = send(sender, category, recipients, unit_price)
        sent.append((got.copy(), blocked_before, sender.quality.daily_limit(len(sender.customers))))
        return got

    model.platform.send = recording_send
    for _ in range(40):
        users.annoyance[spammer.customers] = 5.0  # its audience is furious
        model.step()
    limits = [limit for _, _, limit in sent]
    assert limits[0] == math.inf and limits[-1] < 0.01 * len(spammer.customers)
    assert all(len(got) <= limit for got, _, limit in sent)
    assert all(not np.isin(got, blocked).any() for got, blocked, _ in sent)
    assert spammer.quality.rating == "low"
    df = model.datacollector.get_model_vars_dataframe()
    assert df["marketing_over_limit"].sum() > 0 and df["blocks_today"].sum() > 0


def test_utility_messages_inside_an_open_service_window_are_free():
    """With many chats, many utility updates fall inside a window: free, so utility revenue
    per message falls by the free share; with no chats, nothing is free."""
    busy = totals(20, 1, chat_rate=0.3)
    quiet = totals(20, 1, chat_rate=0.0)
    assert quiet["messages_utility_free"] == 0
    free_share = busy["messages_utility_free"] / busy["messages_utility"]
    assert 0.1 < free_share < 0.5
    price_busy = busy["revenue_utility"] / busy["messages_utility"]
    price_quiet = quiet["revenue_utility"] / quiet["messages_utility"]
    assert price_busy == pytest.approx(price_quiet * (1 - free_share), rel=0.1)


def test_providers_onboard_within_capacity_and_waiting_enterprises_send_nothing():
    model = WhatsAppMarket(rng=4, **SMALL, enterprise_onboarded_share=0.0, n_solution_providers=2,
                           bsp_onboarding_capacity=1)
    enterprises = list(model.agents_by_type[Enterprise])
    for day in range(1, 8):
        model.step()
        onboarded = [e for e in enterprises if e.provider is not None]
        assert len(onboarded) == min(2 * day, len(enterprises))
        assert all(e.spent == 0 for e in enterprises if e.provider is None)
    assert model.today["enterprises_onboarded"] == len(enterprises)


def test_enterprises_pick_the_cheapest_provider_and_pay_it_outside_the_ledger():
    model = WhatsAppMarket(rng=5, **SMALL, enterprise_onboarded_share=0.0, bsp_onboarding_capacity=100)
    for _ in range(10):
        model.step()
    providers = model.solution_providers
    for e in model.agents_by_type[Enterprise]:
        fees = e.expected_daily_fees_usd()
        costs = [s.markup_share * fees + s.monthly_fee_usd / 30 * e.real_firms / model.scale
                 for s in providers]
        assert e.provider is providers[int(np.argmin(costs))]
        assert e.spent == pytest.approx(model.ledger.paid_by[e.unique_id])  # markups are not revenue
    paid = sum(e.paid_to_provider for e in model.agents_by_type[Enterprise])
    assert paid == pytest.approx(sum(s.takings_usd for s in providers)) and paid > 0


def enterprise_month(fee_usd: float, seed: int, **params) -> tuple[list, WhatsAppMarket]:
    """Enterprises after one tool review (day 31) and a month with the tools it chose,
    with chatbot and CRM both at ``fee_usd`` a month."""
    model = run_model(days=31, seed=seed, chatbot_fee_usd_month=fee_usd, crm_fee_usd_month=fee_usd,
                      **params)
    firms = list(model.agents_by_type[Enterprise])
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
        firms = list(model.agents_by_type[Enterprise])
        assert all(e.chatbot is adopted and e.crm is adopted for e in firms), fee
        cost_per_chat = sum(c for _, c, _ in month) / sum(n for _, _, n in month)
        staff = p["service_cost_per_chat_usd"].default
        share = 1 - p["chatbot_deflection"].default if adopted else 1.0
        assert cost_per_chat == pytest.approx(staff * share, rel=1e-9)
        running = len(firms) if adopted else 0
        assert model.today["enterprises_chatbot"] == running and model.today["enterprises_crm"] == running


def test_crm_raises_an_enterprise_s_conversion_by_its_uplift():
    """The same chats, converted many times with and without CRM: buyers rise by the
    uplift, within four binomial standard errors of the ratio."""
    model = run_model(days=1, seed=2)
    firm = next(iter(model.agents_by_type[Enterprise]))
    chats = np.flatnonzero(model.users.active_today).astype(np.int32)
    buyers = {False: 0, True: 0}

    def count(bought):
        buyers[firm.crm] += len(bought)
        return 0.0

    firm.sell = count
    for crm in (False, True):
        firm.crm = crm
        for _ in range(100):
            firm.convert(chats)
    ratio = buyers[True] / buyers[False]
    se = ratio * math.sqrt(1 / buyers[True] + 1 / buyers[False])
    assert ratio == pytest.approx(1 + PARAMS["crm_conversion_uplift"].default, abs=4 * se)
    assert se < 0.05


def test_an_enterprise_s_provider_bills_its_chatbot_and_crm_fees_per_real_firm():
    model = run_model(days=1, seed=2, crm_fee_usd_month=90.0, chatbot_fee_usd_month=60.0)
    firm = next(e for e in model.agents_by_type[Enterprise] if e.provider is not None)
    bills = {}
    for tools in ((False, False), (False, True), (True, True)):
        firm.chatbot, firm.crm = tools
        bills[tools] = firm.provider.daily_cost(firm, 1.0)
    assert bills[False, True] - bills[False, False] == pytest.approx(firm.simulated_usd(3.0), rel=1e-9)
    assert bills[True, True] - bills[False, True] == pytest.approx(firm.simulated_usd(2.0), rel=1e-9)


def test_dearer_providers_cut_their_clients_marketing():
    cheap = [totals(20, seed, bsp_markup_max=0.0)["messages_marketing"] for seed in SEEDS]
    dear = [totals(20, seed, bsp_markup_max=2.0)["messages_marketing"] for seed in SEEDS]
    assert all(d < c for d, c in zip(dear, cheap, strict=True))


def test_business_app_tools_spread_by_imitation_and_raise_conversion():
    def tools_after(weight, seed):
        # no firm moves to the Business Platform or exits before day 91: the same firms throughout
        model = WhatsAppMarket(rng=seed, n_users=10_000, tool_imitation_weight=weight,
                               api_move_chats_per_day=1e6)
        history = []
        for _ in range(90):
            model.step()
            history.append(model.today["smb_tools_mean"])
        assert np.all(np.diff(history) >= 0)  # tools are kept
        return history[-1] - history[0]

    for seed in range(3):
        assert tools_after(5.0, seed) > tools_after(0.0, seed) > 0

    model = WhatsAppMarket(rng=6, **SMALL, tool_initial_share=1.0, tool_conversion_uplift=0.1)
    model.step()
    smbs = model.small_businesses
    chats = np.flatnonzero(model.users.active_today)
    owner = np.zeros(len(chats), dtype=np.int64)  # every chat with the first firm

    def buyers() -> int:
        before = model.purchases
        for _ in range(50):
            smbs.convert(chats, owner, model.p.chat_conversion)
        return model.purchases - before

    with_tools = buyers()
    smbs.firms[0].tools.clear()
    assert with_tools / buyers() == pytest.approx(1.1**5, rel=0.05)


def test_brands_pay_for_sticker_packs_in_holiday_drops_only():
    """Stickers from users start at the store's launch; brands pay on each drop's first day."""
    model = run_model(days=50, seed=3, virtual_goods=True, virtual_goods_launch_day=40,
                      holiday_sticker_boost=3.0)
    df = model.datacollector.get_model_vars_dataframe().set_index("day")
    assert (df.loc[:39, "revenue_stickers"] == 0).all()
    budgets = sum(a.daily_budget_usd for a in model.agents_by_type[Advertiser])
    assert budgets > 0
    # the store opens on day 40, after day 45's drop of the year was scheduled: a drop on day 45
    brand = df.loc[45, "revenue_stickers"] - df.loc[46, "revenue_stickers"]
    assert brand > 0.5 * 0.02 * 30 * budgets * model.scale


def test_brands_bid_for_reach_and_pay_creators_outside_the_ledger_and_their_posts_annoy():
    def run(weight):
        return run_model(days=20, seed=6, brand_advertiser_share=0.5, influencer_budget_share=0.3,
                         influencer_annoyance_weight=weight)

    model = run(1.0)
    advertisers = list(model.agents_by_type[Advertiser])
    brands = [a for a in advertisers if a.is_brand]
    assert brands and len(brands) < len(advertisers)
    for a in advertisers:
        assert (a.paid_to_creators > 0) == a.is_brand
        assert a.spent == pytest.approx(model.ledger.paid_by[a.unique_id])  # creators are not revenue
        if a.is_brand:
            assert a.bid(0.001) == a.bid(0.01) == a.impression_value_usd  # reach, not clicks
    df = model.datacollector.get_model_vars_dataframe()
    assert df["influencer_spend"].sum() == pytest.approx(
        sum(a.paid_to_creators for a in brands) * model.scale, rel=1e-9)
    assert model.today["mean_annoyance"] > run(0.0).today["mean_annoyance"]


@pytest.mark.parametrize(("spent_share", "worth", "change"), [
    (1.0, 2.0, 1.02),   # the budget ran out and paid: more budget would buy more
    (0.5, 2.0, 1.0),    # it paid but half was left: more budget would buy nothing
    (0.5, 1.0, 0.98),   # it was worth less than 1.05 x its cost
])
def test_advertisers_grow_budgets_only_when_they_bind_and_pay(spent_share, worth, change):
    model = run_model(days=1, seed=1, brand_advertiser_share=0.0)
    advertiser = next(iter(model.agents_by_type[Advertiser]))
    advertiser.daily_budget_usd = budget = 100.0
    clicks = spent_share * budget * worth / advertiser.click_value_usd
    advertiser.record("display_ads", spent_share * budget, clicks, seen=0.0)
    advertiser.adapt()
    assert advertiser.daily_budget_usd == pytest.approx(budget * change)


def test_free_sticker_packs_spread_from_launch_and_whet_the_appetite_for_paid_ones():
    model = run_model(days=12, seed=5, virtual_goods=True, virtual_goods_launch_day=4, free_pack_rate=0.05)
    share = model.datacollector.get_model_vars_dataframe().set_index("day")["share_free_stickers"]
    assert (share.loc[:3] == 0).all() and share.loc[4] > 0 and share.loc[12] > share.loc[4]
    users = model.users
    bought = {}
    for has_free_pack in (False, True):
        users.free_stickers[:] = has_free_pack
        bought[has_free_pack] = sum(users.buy_stickers(0.02, 1.0) for _ in range(100))
    ratio = bought[True] / bought[False]
    se = ratio * math.sqrt(1 / bought[True] + 1 / bought[False])
    assert ratio == pytest.approx(1 + PARAMS["free_pack_gateway"].default, abs=4 * se) and se < 0.05


def test_small_businesses_draw_each_firm_at_its_own_rate_and_clickers_are_distinct():
    """One draw over all small businesses' customers, thinned by each firm's rate, gives each
    firm the chats of its own coin per active customer (a binomial count each)."""
    model = WhatsAppMarket(rng=8, **SMALL)
    model.step()
    smbs = model.small_businesses
    rate = np.linspace(0.01, 0.2, len(smbs))
    active = np.bincount(smbs.owner[model.users.active_today[smbs.customers]], minlength=len(smbs))
    counts = sum(np.bincount(smbs.draw(rate)[1], minlength=len(smbs)) for _ in range(200))
    expected = 200 * rate * active
    z = (counts - expected) / np.sqrt(expected * (1 - rate))
    assert np.all(np.abs(z) < 4.5)  # 40 firms: |z| > 4.5 has chance ~3e-4 under the law
    clickers, owner = smbs.buy_click_to_chat()
    assert len(clickers) > 0 and len(np.unique(clickers)) == len(clickers)
    assert np.all(model.users.active_today[clickers])
    assert np.array_equal(model.users.region[clickers], smbs.region[owner])


def test_dearer_utility_and_authentication_prices_move_paid_volume_to_other_channels():
    """Doubling a rate card keeps (2)^-elasticity of the paid sends; free ones in an open
    service window go on; a cheaper card adds none (events set the volume)."""
    def paid(factor, seed, category):
        prices = {f"price_{category}_{r}_usd": factor * PARAMS[f"price_{category}_{r}_usd"].default
                  for r in ("in", "br", "eu")}
        day = totals(20, seed, **prices, utility_price_elasticity=1.0, authentication_price_elasticity=1.0)
        free = day["messages_utility_free"] if category == "utility" else 0
        return day[f"messages_{category}"] - free, free

    for category in ("utility", "authentication"):
        ratios = []
        for seed in range(3):
            base, base_free = paid(1.0, seed, category)
            dear, dear_free = paid(2.0, seed, category)
            ratios.append(dear / base)
            assert paid(0.5, seed, category)[0] == base
            if category == "utility":
                assert dear_free > 0 and base_free > 0  # free sends go on at any price
        # 4 standard errors of a 3-seed mean: one seed's ratio has sd 0.011 (utility) and
        # 0.031 (authentication, fewer sends), measured over 10 seeds
        assert np.mean(ratios) == pytest.approx(0.5, abs=4 * 0.031 / math.sqrt(3)), category
