"""Mutation check: break the model's rules one line at a time and see which tests notice.

Each mutation replaces one exact line of a file in ``model/`` or ``agents/`` (matched without
its indentation, which is kept; the line must occur exactly once) and runs the tests listed
for it. A mutation no test catches is a mechanism the suite would let break unnoticed: the
check then exits 1. The file is restored after each mutation, also on Ctrl-C or SIGTERM.

By default the mutations are applied to a scratch copy of the repository (its tracked and
untracked, not ignored, files but ``results/``; with ``--head``, its last commit), so the
checkout, and anyone running tests in it, never sees a mutant; ``--in-place`` mutates the
checkout itself.

    .venv/bin/python tools/mutate.py                     # every mutation, a table at the end
    .venv/bin/python tools/mutate.py peer-cap ad-sign    # some, by name
    .venv/bin/python tools/mutate.py --list              # names, files and the tests each runs
    .venv/bin/python tools/mutate.py --markdown table.md # also write the table as Markdown
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Mutation:
    name: str
    what: str
    """The mechanism broken, in words."""
    path: str
    line: str
    """The exact line (without indentation) replaced."""
    mutant: str
    tests: tuple[str, ...]
    """pytest node ids that should catch it."""


def users(name: str) -> str:
    return f"tests/test_users.py::{name}"


MUTATIONS = (
    Mutation("peer-cap", "the peer multiplier's cap removed", "agents/users.py",
             "np.float32(p.peer_multiplier_cap),", "np.float32(np.inf),",
             (users("test_churn_hazard_by_cause_with_the_peer_multiplier_capped"),)),
    Mutation("weekly-cap", "a weekly cap on promotional messages off by one", "model/platform.py",
             "room = cap - week[recipients]", "room = cap + 1 - week[recipients]",
             ("tests/test_platform.py::test_promotional_messages_reach_only_opted_in_users_within_weekly_caps",
              "tests/test_platform.py::test_a_weekly_cap_binds_across_senders_for_messages_offered_the_same_day")),
    Mutation("elasticity-half", "the channel logit's price coefficient halved", "model/channels.py",
             "odds = appeal * ratio ** -p.channel_price_coefficient",
             "odds = appeal * ratio ** (-p.channel_price_coefficient / 2)",
             ("tests/test_channels.py::test_a_price_cut_wins_whatsapp_volume_and_a_rise_loses_it",)),
    Mutation("elasticity-weaker", "the channel logit's price coefficient 20% weaker", "model/channels.py",
             "odds = appeal * ratio ** -p.channel_price_coefficient",
             "odds = appeal * ratio ** (-0.8 * p.channel_price_coefficient)",
             ("tests/test_channels.py::test_a_price_cut_wins_whatsapp_volume_and_a_rise_loses_it",)),
    Mutation("bass-no-imitation", "adoption without imitation", "agents/enterprise.py",
             "rate = p.bass_innovation_per_year + p.bass_imitation_per_year * adopters / potential",
             "rate = p.bass_innovation_per_year + 0 * adopters / potential",
             ("tests/test_enterprise.py::test_bass_adoptions_follow_p_and_q_and_stop_at_the_potential",
              "tests/test_enterprise.py::test_a_month_of_diffusion_brings_adopters_with_customers_who_start_with_codes")),
    Mutation("upi-cap-ignored", "the UPI user cap never closes", "model/payment_rails.py",
             "room[INDIA_LIKE] = 0.0", "pass",
             ("tests/test_payment_rails.py::test_a_cap_holds_the_india_like_region_s_linked_share",
              "tests/test_payment_rails.py::test_the_room_is_what_incumbents_leave_and_closes_at_a_full_cap")),
    Mutation("annoyance-decay", "annoyance decays twice as fast", "agents/users.py",
             "return annoyance * np.float32(1 - p.annoyance_decay) + intolerance * growth",
             "return annoyance * np.float32(1 - 2 * p.annoyance_decay) + intolerance * growth",
             (users("test_annoyance_decays_and_grows_by_kind_of_exposure"),)),
    Mutation("peer-memory", "departures are forgotten twice as fast", "agents/users.py",
             "self.peer_exposure *= np.float32(np.exp(-1 / p.peer_memory_days))",
             "self.peer_exposure *= np.float32(np.exp(-2 / p.peer_memory_days))",
             (users("test_departures_expose_their_contacts_who_forget_them_with_the_peer_memory"),
              "tests/test_docking.py::test_vectorised_users_agree_with_the_reference")),
    Mutation("ledger-received", "the ledger drops what the payee of a batch receives", "model/ledger.py",
             "self._received[payee] += total", "pass",
             ("tests/test_ledger.py::test_a_whole_run_reconciles_every_payer_payee_and_revenue_column",)),
    Mutation("local-ties", "local ties halved", "model/network.py",
             "half_local = max(int(round(mean_degree * local_tie_share / 2)), 0)",
             "half_local = max(int(round(mean_degree * local_tie_share / 4)), 0)",
             ("tests/test_network.py",)),
    Mutation("blocks-ignored", "the platform ignores users' blocks of senders", "model/platform.py",
             "self._blocked = sorted_union(self._blocked, keys)", "pass",
             ("tests/test_platform.py::test_a_sender_whose_quality_falls_gets_a_lower_limit_and_blockers_hear_no_more",
              "tests/test_platform.py::test_a_blocked_sender_reaches_its_blockers_no_more")),
    Mutation("opt-in-ignored", "promotional messages ignore opt-in", "model/platform.py",
             "ok &= users.promo_optin[recipients]", "pass",
             ("tests/test_platform.py::test_promotional_messages_reach_only_opted_in_users_within_weekly_caps",
              "tests/test_platform.py::test_a_weekly_cap_binds_across_senders_for_messages_offered_the_same_day")),
    Mutation("ctr-personalised", "personalised ads click through at the contextual rate", "agents/users.py",
             'CLICK_THROUGH = {"personalised": "ctr_personalised", "contextual": "ctr_contextual",',
             'CLICK_THROUGH = {"personalised": "ctr_contextual", "contextual": "ctr_contextual",',
             (users("test_click_through_by_kind"),
              "tests/test_platform.py::test_without_data_sharing_no_impression_is_personalised_and_click_through_falls")),
    Mutation("merchant-fee", "the merchant fee is not booked", "agents/firms.py",
             "in_chat * card_share * levers.merchant_fee_rate)", "in_chat * 0.0)",
             ("tests/test_firms.py::test_a_dearer_merchant_fee_lowers_merchant_payment_volume",)),
    Mutation("markup-ignored", "enterprises ignore their provider's markup", "agents/firms.py",
             "price_factor = 1 + markup[:, None]", "price_factor = 1 + 0 * markup[:, None]",
             ("tests/test_firms.py::test_dearer_providers_cut_their_clients_marketing",)),
    Mutation("concern-stuck", "concern rises but never relaxes", "agents/users.py",
             "return concern + np.float32(p.concern_adjust_rate) * (target - concern)",
             "return concern + np.float32(p.concern_adjust_rate) * np.maximum(target - concern, 0)",
             (users("test_concern_moves_toward_its_target"),)),
    Mutation("drop-rate", "multi-homers drop the rival twice as often", "agents/users.py",
             "switch[multihoming] = np.float32(p.multihoming_drop_per_year / 365) * (1 - own_rival_share)",
             "switch[multihoming] = np.float32(2 * p.multihoming_drop_per_year / 365)"
             " * (1 - own_rival_share)",
             ("tests/test_docking.py::test_vectorised_users_agree_with_the_reference",)),
    Mutation("returns-more", "churned users come back 20% more often", "agents/users.py",
             "come_back = np.float32(p.return_per_year / 365) * only_here",
             "come_back = np.float32(1.2 * p.return_per_year / 365) * only_here",
             ("tests/test_docking.py::test_vectorised_users_agree_with_the_reference",)),
    Mutation("ad-budget-sign", "a firm's ad budget moves away from ads that pay", "agents/business.py",
             "self.ad_budget_usd *= 1 + p.budget_adapt_step * ((roas > 1) - (roas < 1))",
             "self.ad_budget_usd *= 1 + p.budget_adapt_step * ((roas < 1) - (roas > 1))",
             ("tests/test_firms.py::test_a_firm_s_ad_budget_follows_the_return_on_its_ads",)),
    Mutation("first-price", "the auction charges the winner's own bid", "model/auction.py",
             "unit_price = np.maximum(np.concatenate((ranked[1:], [0.0])), reserve)"
             "  # the next bid, or the reserve",
             "unit_price = np.maximum(ranked, reserve)",
             ("tests/test_auction.py",)),
    Mutation("tiers-stuck", "a low rating no longer lowers a sender's tier", "model/quality.py",
             "step = np.where(self.low, -1, 1)", "step = np.where(self.low, 0, 1)",
             ("tests/test_quality.py",)),
    Mutation("privacy-paradox", "switching costs no longer hold back privacy churn", "agents/users.py",
             "h_privacy = np.float32(p.privacy_churn_slope * salience)"
             " * np.maximum(concern - switching_cost, 0)",
             "h_privacy = np.float32(p.privacy_churn_slope * salience) * np.maximum(concern, 0)",
             (users("test_churn_hazard_by_cause_with_the_peer_multiplier_capped"),)),
    Mutation("outage-weaker", "an outage's install chance 20% lower", "model/events.py",
             "self.users.outage_install_chance = min(p.outage_install_per_hour * p.outage_hours, 1.0)",
             "self.users.outage_install_chance = min(0.8 * p.outage_install_per_hour * p.outage_hours, 1.0)",
             ("tests/test_events.py::test_an_outage_brings_a_spike_of_rival_signups_and_few_departures",)),
    Mutation("no-reassurance", "a postponement does not calm the media", "model/events.py",
             "self.users.attention.reassure(p.postponement_reassurance)", "pass",
             ("tests/test_events.py::test_the_timeline_shows_in_the_columns_and_a_postponement_moves_the_deadline",)),
    Mutation("growth-weaker", "word of mouth tells 20% fewer customers", "agents/smb.py",
             "told = rng.choice(self.customers, rng.poisson(share * len(self.customers)))",
             "told = rng.choice(self.customers, rng.poisson(0.8 * share * len(self.customers)))",
             ("tests/test_smb.py::test_word_of_mouth_tells_a_share_of_the_customers_and_adds_their_contacts",)),
    Mutation("scale-ignored", "firms judge figures per simulated, not real, firm", "agents/business.py",
             "return amount * self.model.scale / self.real_firms", "return amount / self.real_firms",
             ("tests/test_smb.py::test_firm_figures_per_real_firm_do_not_depend_on_the_sample_size",)),
    Mutation("free-window", "utility alerts inside a service window are billed", "agents/firms.py",
             "price = np.where(free, 0.0, card[self.model.users.region[users]])",
             "price = card[self.model.users.region[users]]",
             ("tests/test_firms.py::test_utility_messages_inside_an_open_service_window_are_free",)),
    Mutation("imitation-ignored", "small businesses do not imitate each other's tools", "agents/smb.py",
             "chance = p.tool_adoption_rate * (1 + p.tool_imitation_weight * shares[tool])",
             "chance = p.tool_adoption_rate",
             ("tests/test_firms.py::test_business_app_tools_spread_by_imitation",)),
    Mutation("stickers-unbooked", "users' sticker purchases are not booked", "model/market.py",
             'self.ledger.book(USERS, PLATFORM, "stickers", packs * self.platform.levers.sticker_price_usd)',
             "pass",
             ("tests/test_ledger.py::test_a_whole_run_reconciles_every_payer_payee_and_revenue_column",)),
    Mutation("ultimatum-ignored", "users do not anticipate an ultimatum's mandatory sharing",
             "model/events.py",
             'return "mandatory" if self.ultimatum_pending else self.levers.current.data_sharing',
             "return self.levers.current.data_sharing",
             ("tests/test_events.py::test_an_ultimatum_raises_multihoming_and_churn",
              "tests/test_events.py::test_the_timeline_shows_in_the_columns_and_a_postponement_moves_the_deadline")),
    Mutation("lockin-ignored", "contacts on the platform no longer lock a user in", "agents/users.py",
             "lockin = self.switching_cost[who] * only_here",
             "lockin = self.switching_cost[who] + 0 * only_here",
             (users("test_lock_in_users_with_more_contacts_here_leave_less"),)),
    Mutation("p2p-fee-square", "a P2P fee deters transfers quadratically, not linearly", "agents/firms.py",
             "rate = p.p2p_rate * max(0.0, 1 - fee / p.p2p_fee_cutoff_rate)",
             "rate = p.p2p_rate * max(0.0, 1 - fee / p.p2p_fee_cutoff_rate) ** 2",
             ("tests/test_firms.py::test_a_p2p_fee_deters_transfers_linearly_up_to_the_cutoff",)),
)


class StaleMutation(LookupError):
    """The mutation's line is not (or not once) in its file: the code moved on; update the list."""


@contextmanager
def mutated(root: Path, mutation: Mutation) -> Iterator[None]:
    """The file with the mutation's line replaced, restored on leaving, whatever happens."""
    path = root / mutation.path
    original = path.read_text()
    lines = original.splitlines(keepends=True)
    matches = [i for i, line in enumerate(lines) if line.strip() == mutation.line]
    if len(matches) != 1:
        raise StaleMutation(f"the line occurs {len(matches)} times in {mutation.path}, not once: "
                            f"{mutation.line!r}")
    i = matches[0]
    indent = lines[i][:len(lines[i]) - len(lines[i].lstrip())]
    lines[i] = indent + mutation.mutant + "\n"
    try:
        path.write_text("".join(lines))
        yield
    finally:
        path.write_text(original)


def scratch_copy(destination: Path, head: bool = False) -> Path:
    """The repository's tracked and untracked (not ignored) files, but ``results/``; or, with
    ``head``, the files of its last commit."""
    if head:
        archive = subprocess.run(["git", "archive", "HEAD"], cwd=ROOT, capture_output=True, check=True).stdout
        subprocess.run(["tar", "-x", "-C", str(destination), "--exclude", "results"], input=archive,
                       check=True)
        return destination
    listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
                            cwd=ROOT, capture_output=True, text=True, check=True).stdout.split("\0")
    for name in filter(None, listed):
        source = ROOT / name
        if name.startswith("results/") or not source.is_file():
            continue
        target = destination / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)
    return destination


def run_tests(root: Path, tests: tuple[str, ...]) -> tuple[list[str], float, str]:
    """The listed tests run in ``root`` (its packages first on the path): the ids that failed
    or errored, the seconds taken, pytest's last line."""
    env = os.environ | {"PYTHONPATH": str(root)}
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-rfE", "-p", "no:cacheprovider", *tests],
                          cwd=root, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    failed = re.findall(r"^(?:FAILED|ERROR) (\S+)", proc.stdout, re.M)
    last = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else proc.stderr.strip()[-200:]
    if proc.returncode not in (0, 1) and not failed:  # pytest itself broke: say so
        failed = [f"pytest exit {proc.returncode}"]
    return failed, seconds, last


def _interrupt(signum, frame) -> None:
    """SIGTERM unwinds like Ctrl-C, so the file being mutated is restored."""
    raise KeyboardInterrupt


def short(node: str) -> str:
    """``tests/test_x.py::test_y[param]`` as ``test_x::test_y[param]``."""
    return node.removeprefix("tests/").replace(".py::", "::").removesuffix(".py")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="mutations to apply (default: all)")
    parser.add_argument("--list", action="store_true", help="list the mutations and exit")
    parser.add_argument("--in-place", action="store_true", help="mutate the checkout itself")
    parser.add_argument("--head", action="store_true",
                        help="mutate a copy of the last commit (default: of the working tree)")
    parser.add_argument("--no-baseline", action="store_true",
                        help="skip checking that the tests pass before any mutation")
    parser.add_argument("--markdown", type=Path, help="also write the table to this file")
    args = parser.parse_args(argv)
    known = {m.name: m for m in MUTATIONS}
    unknown = [n for n in args.names if n not in known]
    if unknown:
        parser.error(f"unknown mutation(s) {', '.join(unknown)}; known: {', '.join(known)}")
    chosen = [known[n] for n in args.names] if args.names else list(MUTATIONS)
    if args.list:
        for m in chosen:
            print(f"{m.name:18} {m.path:24} {m.what}\n{'':18} tests: {', '.join(map(short, m.tests))}")
        return 0

    signal.signal(signal.SIGTERM, _interrupt)
    with tempfile.TemporaryDirectory(prefix="wasim-mutate-") as tmp:
        root = ROOT if args.in_place else scratch_copy(Path(tmp), args.head)
        if not args.no_baseline:
            tests = tuple(dict.fromkeys(t for m in chosen for t in m.tests))
            failed, seconds, last = run_tests(root, tests)
            print(f"baseline: {len(tests)} test ids, {seconds:.0f} s: {last}", flush=True)
            if failed:
                print(f"the tests fail without any mutation: {', '.join(map(short, failed))}")
                return 2
        rows, stale = [], []
        for m in chosen:
            try:
                with mutated(root, m):
                    failed, seconds, last = run_tests(root, m.tests)
            except StaleMutation as err:
                stale.append(m.name)
                print(f"{m.name}: STALE, {err}", flush=True)
                continue
            rows.append((m, failed, seconds))
            verdict = f"caught by {', '.join(map(short, failed))}" if failed else "NOT CAUGHT"
            print(f"{m.name}: {verdict} ({seconds:.0f} s; {last})", flush=True)
    table = markdown(rows)
    print("\n" + table)
    if args.markdown:
        args.markdown.write_text(table)
    survived = [m.name for m, failed, _ in rows if not failed]
    if survived:
        print(f"\n{len(survived)} mutation(s) no test caught: {', '.join(survived)}")
    if stale:
        print(f"\n{len(stale)} mutation(s) whose line is gone: {', '.join(stale)}")
    return 1 if survived or stale else 0


def markdown(rows) -> str:
    lines = ["| mutation | file | caught by | s |", "|---|---|---|---:|"]
    for m, failed, seconds in rows:
        names = [f"`{short(f)}`" for f in failed[:3]]
        if len(failed) > 3:
            names.append(f"{len(failed) - 3} more")
        caught = ", ".join(names) if failed else "**not caught**"
        lines.append(f"| {m.what} (`{m.name}`) | `{m.path}` | {caught} | {seconds:.0f} |")
    lines.append(f"| {len(rows)} mutations | | {sum(bool(f) for _, f, _ in rows)} caught | "
                 f"{sum(s for *_, s in rows):.0f} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("interrupted; the mutated file is restored", file=sys.stderr)
        sys.exit(130)
