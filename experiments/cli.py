"""The ``wasim`` command. Exit codes: 0 success, 1 some runs failed, 2 bad input."""

from __future__ import annotations

import argparse
import os
import sys
import time
import tomllib
import warnings
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd

from experiments.checks import SpecError
from experiments.designs import DESIGNS
from experiments.faults import EnvironmentFault, is_environment_fault
from experiments.integrity import check_folder
from experiments.lock import holder_text, running
from experiments.outcomes import KEY_OUTCOMES, SENSITIVITY_OUTCOMES
from experiments.references import describe, linked
from experiments.spec import MAX_SEED, builtin_specs, load_spec, parse_assignments
from experiments.storage import ResultFolder
from model.params import PARAMS, ParameterError, resolve


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        return args.handler(args)
    except (SpecError, ParameterError) as err:
        print(f"wasim: error: {err}", file=sys.stderr)
        return 2
    except EnvironmentFault as err:
        print(f"wasim: error: {err}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # before OSError, of which it is one
        # The reader stopped (`wasim params | head`): not an error. Point stdout at /dev/null
        # so that Python's flush at exit does not raise again (Python docs, signal module).
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except OSError as err:
        if not is_environment_fault(err):
            raise
        print(f"wasim: error: {err.strerror}: {err.filename}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="wasim", description=__doc__)
    sub = parser.add_subparsers(required=True, metavar="COMMAND")

    cmd = sub.add_parser("list", help="built-in experiments, one line each")
    cmd.set_defaults(handler=cmd_list)

    cmd = sub.add_parser("params", help="every model parameter: default, range, unit, meaning, source "
                         "with its full reference (--markdown: a table linking to docs/SOURCES.md)")
    cmd.add_argument("--markdown", action="store_true", help="as a Markdown table")
    cmd.set_defaults(handler=cmd_params)

    cmd = sub.add_parser("simulate", help="one run, summary on screen")
    cmd.add_argument("--set", action="append", default=[], metavar="K=V",
                     help="parameter value (repeatable)")
    cmd.add_argument("--days", type=int, default=365)
    cmd.add_argument("--seed", type=int, default=0)
    cmd.add_argument("--from", dest="from_run", nargs=2, metavar=("RESULT_DIR", "RUN_ID"),
                     help="redo one run of an experiment alone, with its parameters and seed")
    cmd.add_argument("--out", type=Path, help="also write the daily rows to this Parquet file")
    cmd.set_defaults(handler=cmd_simulate)

    cmd = sub.add_parser("run", help="run an experiment (built-in name or TOML path)")
    cmd.add_argument("experiment")
    cmd.add_argument("--workers", type=int, default=None, help="processes (default: all cores)")
    cmd.add_argument("--out", type=Path, help="result folder (default results/<name>)")
    cmd.add_argument("--set", action="append", default=[], metavar="K=V",
                     help="override a fixed parameter (repeatable)")
    cmd.add_argument("--fresh", action="store_true", help="discard earlier results in --out")
    cmd.add_argument("--backend", default="local", metavar="local|dask",
                     help="where runs execute: this machine's cores (local, the default) or a "
                          "Dask distributed cluster (dask)")
    cmd.add_argument("--scheduler", metavar="ADDRESS",
                     help="with --backend dask: the cluster's scheduler, e.g. tcp://host:8786 "
                          "(default: start a local cluster of --workers processes)")
    cmd.add_argument("--time-limit", type=float, metavar="SECONDS",
                     help="record a run still going after SECONDS as failed (retried next time)")
    cmd.add_argument("--wait", action="store_true",
                     help="if another `wasim run` is running into the folder, wait for it to end "
                          "instead of exiting (code 2)")
    cmd.set_defaults(handler=cmd_run)

    cmd = sub.add_parser("search", help="robust multi-objective search over the levers of a spec's "
                                        "[search] table (Optuna TPE in batches, each one sweep of "
                                        "candidates x scenarios x replicates); resumable")
    cmd.add_argument("spec", metavar="SPEC", help="built-in name (policy_search) or TOML path")
    cmd.add_argument("--workers", type=int, default=None, help="processes (default: all cores)")
    cmd.add_argument("--out", type=Path, help="result folder (default results/<name>)")
    cmd.add_argument("--set", action="append", default=[], metavar="K=V",
                     help="override a fixed parameter (repeatable)")
    cmd.add_argument("--trials", type=int, metavar="N",
                     help="trials in all (default: the spec's search.trials); more continue the study")
    cmd.add_argument("--fresh", action="store_true", help="discard an earlier search in --out")
    cmd.add_argument("--backend", default="local", metavar="local|dask",
                     help="where runs execute, as for `wasim run`")
    cmd.add_argument("--scheduler", metavar="ADDRESS", help="with --backend dask: the cluster's scheduler")
    cmd.add_argument("--time-limit", type=float, metavar="SECONDS",
                     help="record a run still going after SECONDS as failed (retried next time)")
    cmd.set_defaults(handler=cmd_search)

    cmd = sub.add_parser("discover", help="scenario discovery on a result folder: PRIM box, CART "
                                          "tree and feature scores for an outcome above or below "
                                          "a threshold (into RESULT_DIR/discover/)")
    cmd.add_argument("result_dir", type=Path)
    cmd.add_argument("--outcome", required=True, metavar="COL", help="a summary outcome column")
    side = cmd.add_mutually_exclusive_group(required=True)
    side.add_argument("--above", type=float, metavar="X", help="cases of interest: outcome > X")
    side.add_argument("--below", type=float, metavar="X", help="cases of interest: outcome < X")
    cmd.add_argument("--density", type=float, default=0.8,
                     help="the PRIM box reported: highest coverage with at least this density "
                          "(default 0.8)")
    cmd.add_argument("--mass-min", type=float, default=0.05,
                     help="smallest box, as a share of the cases (default 0.05)")
    cmd.set_defaults(handler=cmd_discover)

    cmd = sub.add_parser("bench", help="speed and memory of the full model")
    cmd.add_argument("--users", type=int, default=None,
                     help="simulated users (default 100,000; with --calm 20,000)")
    cmd.add_argument("--days", type=int, default=30)
    cmd.add_argument("--json", action="store_true", help="one JSON object on stdout")
    mode = cmd.add_mutually_exclusive_group()
    mode.add_argument("--reference", action="store_true",
                      help="also time the users' rules per agent (the docking reference) and vectorised")
    mode.add_argument("--sweep", action="store_true",
                      help="instead time the experiment engine: 16 runs of --users and --days with 1 "
                           "and 2 workers; its overhead per run and the speed-up")
    mode.add_argument("--calm", action="store_true",
                      help="instead measure the calm world's stationarity: 4 seeds of 5 years at "
                           "20,000 users (or --users), defaults, no events; concern, multi-homing, "
                           "churn and privacy's share of churn in year 2 against year 5")
    cmd.add_argument("--reference-days", type=int, default=3, metavar="D",
                     help="days the per-agent reference runs (default 3: it is slow)")
    cmd.add_argument("--repeat", type=int, default=1, metavar="N",
                     help="measure the model (or with --sweep the engine) N times, each in a process of its "
                          "own, and report the run with the median time a day (overhead a run), and "
                          "every run's (default 1)")
    cmd.set_defaults(handler=cmd_bench)

    cmd = sub.add_parser("status", help="runs done, failed and missing")
    cmd.add_argument("result_dir", type=Path)
    cmd.set_defaults(handler=cmd_status)

    cmd = sub.add_parser("plot", help="figures of a result folder into RESULT_DIR/figures/")
    cmd.add_argument("result_dir", type=Path)
    cmd.add_argument("--outcome", action="extend", nargs="+", metavar="NAME",
                     help="one to four summary columns for the figures against the factors "
                          f"(default: {' '.join(KEY_OUTCOMES)})")
    cmd.set_defaults(handler=cmd_plot)

    cmd = sub.add_parser("report", help="RESULT_DIR/report.html: description, spec, outcomes per "
                                        "design point with 95%% CIs, every figure")
    cmd.add_argument("result_dir", type=Path)
    cmd.add_argument("--outcome", action="extend", nargs="+", metavar="NAME",
                     help=f"summary column(s) in the table (default: {' '.join(KEY_OUTCOMES)})")
    cmd.add_argument("--embed", action="store_true",
                     help="put the figures inside report.html (one file to send) instead of "
                          "linking figures/")
    cmd.set_defaults(handler=cmd_report)

    cmd = sub.add_parser("compare", help="contrasts B - A with 95%% t-intervals, paired by replicate "
                                         "seed when the runs share seeds, else Welch: the points of "
                                         "two result folders (DIR_A DIR_B), or each point of one "
                                         "folder against a reference point (RESULT_DIR --against)")
    cmd.add_argument("dir_a", type=Path, metavar="DIR_A|RESULT_DIR")
    cmd.add_argument("dir_b", type=Path, metavar="DIR_B", nargs="?",
                     help="a second folder: B; without it, the points of RESULT_DIR are contrasted")
    cmd.add_argument("--against", metavar="POINT",
                     help="with one folder: the reference point (A), by label or values, e.g. "
                          "'no event' or 'ad_load=0.1' (default: the spec's reference, else the "
                          "first point)")
    cmd.add_argument("--outcome", action="extend", nargs="+", metavar="NAME",
                     help="summary column(s) to compare (default: every revenue stream, "
                          "revenue_total, churned_share, users_active_final, revenue_per_user_mean)")
    cmd.add_argument("--csv", type=Path, metavar="FILE", help="also write the table to FILE")
    cmd.set_defaults(handler=cmd_compare)

    analysed = " or ".join(name for name, kind in DESIGNS.items() if kind.sensitivity)
    cmd = sub.add_parser("analyze", help=f"sensitivity indices of a {analysed} result folder")
    cmd.add_argument("result_dir", type=Path)
    cmd.add_argument("--outcome", action="extend", nargs="+", metavar="NAME",
                     help=f"summary column(s) to analyse (default: {' '.join(SENSITIVITY_OUTCOMES)})")
    cmd.set_defaults(handler=cmd_analyze)

    cmd = sub.add_parser("calibrate", help="fit the free behavioural parameters to the targets of "
                         "docs/SOURCES.md: Nelder-Mead over replicated runs (the quick path), or a "
                         "posterior by ABC-SMC (--method abc, resumable)")
    cmd.add_argument("--method", choices=("nelder-mead", "abc"), default="nelder-mead",
                     help="nelder-mead: best values (default); abc: a posterior (pyabc ABC-SMC, history "
                          "in SQLite; run the same command again to continue it)")
    cmd.add_argument("--users", type=int, default=None, help="users per run (default 20000; abc: "
                                                              "the config's settings table)")
    cmd.add_argument("--days", type=int, default=None, help="days per run (default 365)")
    cmd.add_argument("--replicates", type=int, default=None,
                     help="runs per evaluation (default 3 on fixed seeds; abc: the config's)")
    cmd.add_argument("--max-evals", type=int, default=None,
                     help="nelder-mead: largest number of evaluations (default 20; one takes ~20 s "
                          "at the defaults on 2 idle cores)")
    cmd.add_argument("--workers", type=int, default=None, help="processes (default: all cores)")
    cmd.add_argument("--backend", default="local", metavar="local|dask",
                     help="abc: run the simulations on this machine's cores (default) or on Dask")
    cmd.add_argument("--scheduler", metavar="ADDRESS",
                     help="abc with --backend dask: a running cluster (default: start a local one)")
    cmd.add_argument("--out", type=Path, default=None,
                     help="folder for the results (default results/calibration; abc: "
                          "results/calibration/abc)")
    cmd.add_argument("--seed", type=int, default=None, help="root seed (default 0; abc: the config's)")
    cmd.add_argument("--config", type=Path, metavar="FILE",
                     help="parameters and targets (default experiments/calibration/calibration.toml; "
                          "abc: experiments/calibration/abc.toml)")
    cmd.add_argument("--check", action="store_true",
                     help="no search: nelder-mead, every target at the schema's defaults, same seeds; "
                          "abc, the posterior predictive table rerun from the stored particles")
    cmd.set_defaults(handler=cmd_calibrate)

    cmd = sub.add_parser("dashboard", help="the browser dashboard (Mesa's SolaraViz): a live run with "
                                           "its levers and events, and the daily series of result "
                                           "folders; needs the viz extra (pip install -e \".[viz]\")")
    cmd.add_argument("--port", type=int, default=8765, help="port to listen on (default 8765)")
    cmd.add_argument("--host", default="127.0.0.1",
                     help="address to listen on (default 127.0.0.1: this machine only)")
    cmd.add_argument("--results", type=Path, default=Path("results"), metavar="DIR",
                     help="folder whose result folders the second page lists (default results)")
    cmd.set_defaults(handler=cmd_dashboard)
    return parser


def cmd_list(args) -> int:
    from experiments.search_spec import builtin_searches

    for name, path in builtin_specs().items():
        experiment = tomllib.loads(path.read_text()).get("experiment", {})
        print(f"{name:<20} {experiment.get('description', '')}")
    for name, path in builtin_searches().items():
        experiment = tomllib.loads(path.read_text()).get("experiment", {})
        print(f"{name:<20} (wasim search) {experiment.get('description', '')}")
    return 0


def cmd_params(args) -> int:
    if args.markdown:
        print(params_markdown())
        return 0
    group = None
    for p in PARAMS.values():
        if p.group != group:
            group = p.group
            print(f"\n[{group}]")
        print(f"  {p.name:<30} {p.default!r:<12} {p.unit:<22} {p.allowed()}")
        print(f"  {'':<30} {p.meaning}. Source: {p.source}")
        for reference in describe(p.source):
            print(f"  {'':<30}   {reference}")
    return 0


def params_markdown() -> str:
    """The parameter table of docs/ODD.md: sources link to their sections of SOURCES.md."""
    lines = ["| parameter | default | unit | allowed | meaning | source |",
             "|---|---|---|---|---|---|"]
    for p in PARAMS.values():
        lines.append(f"| `{p.name}` | {p.default!r} | {p.unit} | {p.allowed()} | {p.meaning} "
                     f"| {linked(p.source)} |")
    return "\n".join(lines)


def cmd_simulate(args) -> int:
    from experiments.outcomes import summarise
    from experiments.runner import simulate

    if args.from_run:
        folder, run_id = ResultFolder(args.from_run[0]), args.from_run[1]
        record = folder.read_record(run_id)
        if record is None:
            raise SpecError("RUN_ID", f"no finished run {run_id!r} in {folder.path}; "
                                      "see `wasim status`")
        parameters, days = record["parameters"], record["days"]
        seed = np.random.SeedSequence(record["seed_entropy"], spawn_key=record["seed_spawn_key"])
    else:
        parameters, days = resolve(parse_assignments(args.set)), args.days
        seed = np.random.SeedSequence(_seed(args.seed))
    if days < 1:
        raise SpecError("--days", f"got {days}; allowed: an integer >= 1")
    _output_file(args.out, "--out")
    started = time.perf_counter()
    daily = simulate(parameters, days, seed)
    print(f"{days} days, {parameters['n_users']:,} users, seed {seed.entropy} "
          f"{tuple(seed.spawn_key)}: {time.perf_counter() - started:.1f} s")
    for key, value in summarise(daily).items():
        print(f"  {key:<32} {value:,.6g}")
    if args.from_run:
        same = daily.equals(pd.read_parquet(folder.run_path(run_id)))
        print(f"identical to the stored run: {'yes' if same else 'NO'}")
    if args.out:
        daily.to_parquet(args.out, index=False)
        print(f"daily rows written to {args.out}")
    return 0


def cmd_run(args) -> int:
    from experiments.runner import run_experiment

    spec = load_spec(args.experiment, parse_assignments(args.set))
    result = run_experiment(spec, _output_folder(args.out), args.workers, args.fresh, backend=args.backend,
                            scheduler=args.scheduler, time_limit_s=args.time_limit, wait=args.wait)
    done = result.already_done + len(result.done)
    print(f"{done} of {result.planned} runs done, {len(result.failed)} failed; "
          f"results in {result.folder.path}")
    return result.exit_code


def cmd_search(args) -> int:
    from experiments.search import run_search
    from experiments.search_outputs import format_pareto
    from experiments.search_spec import load_search

    search = load_search(args.spec, parse_assignments(args.set), args.trials)
    result = run_search(search, _output_folder(args.out), args.workers, args.fresh, backend=args.backend,
                        scheduler=args.scheduler, time_limit_s=args.time_limit)
    told = len(result.candidates)
    print(f"{told} of {search.trials} trials told, {int(result.candidates['feasible'].sum())} "
          f"feasible; Pareto set ({len(result.pareto)}):")
    print(format_pareto(search, result.pareto))
    timing = result.timing
    if timing.get("wall_s"):
        outside = 1 - timing["sweeps_s"] / timing["wall_s"]
        print(f"wall {timing['wall_s']:.1f} s, in the engine's sweeps {timing['sweeps_s']:.1f} s "
              f"(outside them {100 * outside:.1f}%), runs' own simulation time "
              f"{timing['runs_s']:.1f} s")
    for path in result.files:
        print(f"wrote {path}")
    print(f"results in {result.folder}; `wasim report {result.folder}` for the report")
    return result.exit_code


def cmd_discover(args) -> int:
    from experiments.discover import discover

    above = args.above is not None
    with _warnings_on_stderr():
        found = discover(_checked(args.result_dir), args.outcome, args.above if above else args.below,
                         above, args.density, args.mass_min)
    stats = found.box_stats
    print(f"{found.of_interest} of {found.cases} cases of interest; PRIM box: coverage "
          f"{stats['coverage']:.0%}, density {stats['density']:.0%}, mass {stats['mass']:.0%}, "
          f"{int(stats['res_dim'])} restricted factor{'' if int(stats['res_dim']) == 1 else 's'}")
    print(found.box.to_string() if not found.box.empty else "  (no factor restricted)")
    print("CART leaves:")
    print(found.cart_boxes.to_string(index=False))
    if len(found.scores.index) == 1:
        print(f"feature scores: {found.scores.index[0]} is the only factor, so it scores 1 for every "
              "outcome (a score is a share among the factors) and ranks nothing; PRIM and CART say "
              "where it matters")
    for path in found.files:
        print(f"wrote {path}")
    return 0


def cmd_bench(args) -> int:
    import json
    from functools import partial

    from experiments.bench import bench, calm, measured_apart, median_run, reference_bench, sweep

    if args.users is None:
        args.users = 20_000 if args.calm else 100_000
    if args.users < PARAMS["n_users"].low or args.days < 1 or args.reference_days < 1:
        raise SpecError("--users/--days/--reference-days",
                        f"got {args.users}/{args.days}/{args.reference_days}; allowed: users >= "
                        f"{PARAMS['n_users'].low:g}, days >= 1")
    if args.repeat < 1 or (args.calm and args.repeat > 1):
        raise SpecError("--repeat", f"got {args.repeat}; allowed: an integer >= 1, and 1 with --calm "
                                    "(its figures do not depend on the machine)")
    if args.calm:
        figures = calm(args.users)
    elif args.sweep:
        figures = median_run(measured_apart(partial(sweep, args.users, args.days), args.repeat),
                             "overhead_ms_per_run")
    else:
        figures = median_run(measured_apart(partial(bench, args.users, args.days), args.repeat), "ms_per_day")
    if args.reference:
        figures |= reference_bench(args.users, args.reference_days)
        figures["full_model_speedup_vs_reference"] = round(
            figures["user_days_per_s"] / figures["reference_user_days_per_s"], 1)
    if args.json:
        print(json.dumps(figures))
    else:
        for key, value in figures.items():
            shown = ", ".join(f"{v:,}" for v in value) if isinstance(value, list) else f"{value:,}"
            print(f"{key:<16} {shown}")
    return 0


def cmd_status(args) -> int:
    folder = ResultFolder(args.result_dir)
    if not folder.spec_path.exists():
        raise SpecError("RESULT_DIR", f"{folder.path} has no spec.toml; not a result folder")
    _checked(folder.path)
    tasks = folder.planned_runs()
    done = {t.run_id for t in tasks if folder.read_record(t.run_id) is not None}
    failed_ids = folder.failed_ids() - done
    failed = [t for t in tasks if t.run_id in failed_ids]
    print(f"{folder.path}: {len(tasks)} runs planned, {len(done)} done, {len(failed)} failed, "
          f"{len(tasks) - len(done) - len(failed)} missing")
    for task in failed:
        print(f"  failed: {task.run_id} (point {task.point}, replicate {task.replicate}); "
              f"traceback in {folder.failed_dir / task.run_id}.txt")
    if (holder := running(folder.path)) is not None:
        print(f"  running now: `wasim run` by {holder_text(holder)}")
    return 0


def _seed(value: int | None) -> int | None:
    """``--seed``, checked before any work: what an experiment's seed may be."""
    if value is not None and not 0 <= value <= MAX_SEED:
        raise SpecError("--seed", f"got {value}; allowed: an integer in [0, {MAX_SEED}]")
    return value


def _output_file(path: Path | None, flag: str) -> Path | None:
    """``path``, checked before any work rather than after it: a file in a folder that exists."""
    if path is not None and (path.is_dir() or not path.parent.is_dir()):
        raise SpecError(flag, f"got {str(path)!r}; allowed: a file in an existing folder")
    return path


def _output_folder(path: Path | None) -> Path | None:
    """``--out``, checked before any work rather than after it: a folder, or where one can be made."""
    if path is not None and path.exists() and not path.is_dir():
        raise SpecError("--out", f"got {str(path)!r}, a file; allowed: a folder (made if missing)")
    return path


def _checked(path: Path) -> Path:
    """``path``, once its spec and provenance are known sound (exit 2 otherwise) and a
    damaged summary has been rebuilt (``experiments.integrity``)."""
    check_folder(path, log=lambda message: print(f"wasim: warning: {message}", file=sys.stderr))
    return path


@contextmanager
def _warnings_on_stderr():
    """Warnings (missing runs) as plain `wasim: warning:` lines, not Python's source lines."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            yield
        finally:
            for warning in caught:
                print(f"wasim: warning: {warning.message}", file=sys.stderr)


def cmd_plot(args) -> int:
    from experiments.outcomes import checked_outcomes
    from experiments.plotting import plot_results
    from experiments.results import load_results

    with _warnings_on_stderr():
        results = load_results(_checked(args.result_dir))
        outcomes = checked_outcomes(results.summary, args.outcome or list(KEY_OUTCOMES))
        if len(outcomes) > 4:
            raise SpecError("--outcome", f"got {len(outcomes)} names; allowed: one to four")
        for path in plot_results(results, outcomes):
            print(f"wrote {path} (and .svg)")
    return 0


def cmd_report(args) -> int:
    from experiments.report import write_report

    with _warnings_on_stderr():
        path = write_report(_checked(args.result_dir), args.outcome, embed=args.embed)
    print(f"wrote {path}")
    return 0


def cmd_compare(args) -> int:
    from experiments.compare import compare_folders, compare_points, format_table

    if args.dir_b is not None and args.against is not None:
        raise SpecError("--against", "names a point of one folder; give one RESULT_DIR with "
                                     "--against, or two folders DIR_A DIR_B without it")
    _output_file(args.csv, "--csv")
    for folder in (args.dir_a, args.dir_b):
        if folder is not None:
            _checked(folder)
    with _warnings_on_stderr():
        if args.dir_b is None:
            table = compare_points(args.dir_a, args.against, args.outcome)
            a = f"{args.dir_a}, point '{table['reference'].iloc[0]}' (the reference)"
            b = f"each other point of {args.dir_a}"
        else:
            table = compare_folders(args.dir_a, args.dir_b, args.outcome)
            a, b = str(args.dir_a), str(args.dir_b)
    print(format_table(table, a, b))
    if args.csv:
        table.to_csv(args.csv, index=False)
        print(f"wrote {args.csv}")
    return 0


def cmd_analyze(args) -> int:
    from experiments.analyze import analyze_folder

    analysis = analyze_folder(_checked(args.result_dir), args.outcome)
    print(analysis.table.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    for path in analysis.files:
        print(f"wrote {path}")
    return 0


def cmd_calibrate(args) -> int:
    _seed(args.seed)
    _output_folder(args.out)
    if args.method == "abc":
        return _calibrate_abc(args)
    from experiments.calibrate import Settings, calibrate, check, load_calibration, report, write_results

    for flag, value in (("--backend", None if args.backend == "local" else args.backend),
                        ("--scheduler", args.scheduler)):
        if value is not None:
            raise SpecError(flag, f"got {value!r}; allowed only with --method abc")
    calibration = load_calibration(args.config)
    settings = Settings(_given(args.users, 20_000), _given(args.days, 365), _given(args.replicates, 3),
                        _given(args.seed, 0), args.workers)
    max_evals = _given(args.max_evals, 20)
    if args.check:
        print(report(check(calibration, settings)))
        return 0
    result = calibrate(calibration, settings, max_evals)
    print(report(result))
    for path in write_results(args.out or Path("results/calibration"), result, calibration, max_evals):
        print(f"wrote {path}")
    return 0


def _given(value, default):
    return default if value is None else value


def _calibrate_abc(args) -> int:
    """``wasim calibrate --method abc``: run or continue the posterior, then its outputs; with
    ``--check``, rerun the posterior predictive table from the stored particles."""
    from experiments.abc import DEFAULT_OUT, run_abc
    from experiments.abc_config import load_config
    from experiments.abc_outputs import check, write_outputs

    if args.max_evals is not None:
        raise SpecError("--max-evals", "a Nelder-Mead option; allowed only without --method abc "
                                       "(its budget is max_simulations in the config's settings table)")
    config = load_config(args.config).with_settings(users=args.users, days=args.days,
                                                    replicates=args.replicates, seed=args.seed)
    out = args.out or DEFAULT_OUT
    options = {"workers": args.workers, "backend": args.backend, "scheduler": args.scheduler}
    if args.check:
        table, differences = check(config, out, **options)
        print(table.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
        if differences:
            print("not reproduced:\n  " + "\n  ".join(differences))
            return 1
        print(f"reproduced: the posterior predictive table of {out} from its stored particles")
        return 0
    try:
        run = run_abc(config, out, **options)
    except KeyboardInterrupt:
        print(f"interrupted: the finished generations are kept in {out}; the same command "
              "continues them", file=sys.stderr)
        raise
    for path in write_outputs(config, out, run, **options):
        print(f"wrote {path}")
    return 0


def cmd_dashboard(args) -> int:
    from experiments.dashboard_server import serve

    return serve(args.host, args.port, args.results)


if __name__ == "__main__":
    sys.exit(main())
