"""The I/O edge of ``compose apply``: preflight, step list, confirmation, live output, log, report."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator, TextIO

from composer.cluster import apply as ap
from composer.cluster.lock import LockHeld, cluster_lock, lock_dir
from composer.cluster.outline import dry_run_outline
from composer.cluster.runner import Runner, forwarded, signum_of, stop_signals
from composer.cluster.tools import preflight, tools_for
from composer.core.exits import Exit, for_signal
from composer.core.terminal import printable
from composer.emit.fargate_role import POLICY_FILE
from composer.emit.helmfile import pinned_releases
from composer.emit.plan import CLUSTER_FILE, HELMFILE_FILE, Plan, owners_line, summary, write

STATE_DIR = Path(".compose")  # compose's own working state, beside composer.yaml: logs and locks


@dataclass
class Session:
    plan: Plan
    options: ap.ApplyOptions
    runner: Runner
    console: object  # rich Console
    json_output: bool = False
    assume_yes: bool = False
    is_terminal: Callable[[], bool] = lambda: sys.stdin.isatty()
    ask: Callable[[str], str] = lambda prompt: input(prompt)
    log_path: Path | None = None
    heartbeat_seconds: float = 60.0  # without a live display: a line after this long without output
    saved_plan: dict | None = None  # from `compose plan --refresh --out`: apply runs only if it still holds
    # where the cluster differs from the plan and apply does not act (reconcile's "differs"), for the report
    differs: list[str] = field(default_factory=list)

    # ---------------------------------------------------------------- helpers

    @property
    def cluster_path(self) -> Path:
        return self.plan.out_dir / CLUSTER_FILE

    @property
    def helmfile_path(self) -> Path:
        return self.plan.out_dir / HELMFILE_FILE

    def say(self, text: str = "", style: str | None = None, error: bool = False) -> None:
        """People-facing text: stdout normally; stderr for errors and when stdout carries JSON."""
        if self.json_output or error:
            print(text, file=sys.stderr)
        else:
            self.console.print(text, style=style, markup=False, highlight=False, soft_wrap=True)

    @property
    def _checks_log_role(self) -> bool:
        """Fargate logging on and Fargate profiles planned: the pod execution role must allow the log router."""
        return bool(self.plan.settings.fargate_logging and self.plan.cluster.get("fargateProfiles"))

    def _write_title(self) -> str | None:
        pending = [c for c in self.plan.changes if c.status != "unchanged"]
        if not pending:
            return None
        return "write " + ", ".join(f"{c.path} ({c.status})" for c in pending)

    # ---------------------------------------------------------------- the run

    def dry_run(self) -> int:
        import shutil

        outline = dry_run_outline(
            self.plan.cluster,
            self.cluster_path,
            self.helmfile_path,
            self.options,
            self._checks_log_role,
            self.plan.fixed_selectors,
        )
        files = [{"file": str(c.path), "status": c.status} for c in self.plan.changes]
        missing = [t for t in ("eksctl", "helmfile", "helm") if shutil.which(t) is None]
        if self.json_output:
            print(
                json.dumps(
                    {
                        "format_version": "1",
                        "status": "dry-run",
                        "files": files,
                        "commands": [
                            {"when": when, "argv_line": cmd, "note": note}
                            for when, items in outline
                            for cmd, note in items
                        ],
                        "missing_tools": missing,
                    },
                    indent=2,
                )
            )
            return Exit.OK
        self.say(summary(self.plan))
        self.say(owners_line(self.plan))
        self.say("\nDry run: nothing is run and nothing is written.\n")
        self.say("Files apply would write (the same bytes as `compose plan --write`):")
        for c in self.plan.changes:
            self.say(f"  {c.path}  ({c.status}{', left as is' if c.status == 'unchanged' else ''})")
        self.say("\nCommands, in order:")
        for when, items in outline:
            self.say(f"  {when}:")
            for command, note in items:
                self.say(f"    $ {command}")
                self.say(f"        # {note}")
        if missing:
            self.say(f"\nNot found on PATH here: {', '.join(missing)} (apply checks tools before it runs anything).")
        return Exit.OK

    def run(self) -> int:
        """Preflight, probe, confirm, execute, report: under a per-cluster lock, with SIGTERM and SIGHUP
        handled like Ctrl-C (passed on to the running tool, waited for, reported)."""
        with stop_signals():
            try:
                with contextlib.ExitStack() as held:
                    try:
                        held.enter_context(
                            cluster_lock(lock_dir(), self.plan.settings.name, self.plan.settings.region, self.say)
                        )
                    except LockHeld as exc:
                        raise ap.ApplyError(str(exc)) from None
                    return self._run()
            except KeyboardInterrupt as interrupt:  # before any step ran: nothing to report but that
                self.say(
                    f"\nStopped ({signal_name(signum_of(interrupt))}) before any step ran; nothing was changed.",
                    error=True,
                )
                return for_signal(signum_of(interrupt))

    def _run(self) -> int:
        versions, problems = preflight(
            self.runner, tools_for(self.plan.cluster, self._checks_log_role), timeout=self.options.probe_timeout
        )
        if problems:
            return self._refuse(problems)
        name, region = self.plan.settings.name, self.plan.settings.region
        self.say("Tools: " + printable(", ".join(f"{k} {v}" for k, v in versions.items())))
        self.say(f"Checking what exists in cluster {name} ({region}) …")
        state = ap.read_cluster(
            self.runner,
            self.plan.cluster,
            self.options,
            self.plan.settings.estate,
            log_router=bool(self.plan.settings.fargate_logging),
            ami_releases=self.options.upgrade_nodes,
            selectors=self.plan.fixed_selectors,
        )
        self.plan = ap.onto_cluster(self.plan, state)
        if self._checks_log_role:
            problems = ap.log_role_problems(
                self.runner,
                state,
                self.plan.cluster,
                self.plan.settings.pod_execution_role_arn,
                self.plan.out_dir / POLICY_FILE,
                self.options,
            )
            if problems:
                return self._refuse(problems)
        steps = ap.plan_steps(
            self.plan.cluster,
            state,
            self.cluster_path,
            self.helmfile_path,
            self.options,
            self._write_title(),
            self.plan.release_keys,
            self.plan.fixed_selectors,
        )
        if self.saved_plan is not None:
            from composer.cluster import savedplan

            changed = savedplan.differences(self.saved_plan, self.plan, state, steps)
            if changed:
                for reason in changed:
                    self.say(f"error: {reason}", error=True)
                self.say(
                    "The saved plan no longer describes what apply would do. Nothing was run or written; "
                    "make a new one with `compose plan --refresh --out FILE`.",
                    error=True,
                )
                return Exit.ERROR
            self.say(f"Saved plan {self.saved_plan['path']}: inputs and cluster unchanged since it was made.")
        self._show_steps(state, steps)
        if not self._confirmed(steps):
            return Exit.ERROR
        return self._execute(steps)

    def _refuse(self, problems: list[str]) -> int:
        """Stop before anything ran (tools, or the Fargate role's log permissions)."""
        for problem in problems:
            self.say(f"error: {problem}", error=True)
        self.say("Nothing was run or written.", error=True)
        self._report_json("preflight-failed", [], problems)
        return Exit.ERROR

    def _show_steps(self, state: ap.ClusterState, steps: list[ap.Step]) -> None:
        self.say("")
        self.say(summary(self.plan))
        self.say(owners_line(self.plan))
        self.say(
            f"Cluster {self.plan.settings.name}: "
            + (
                f"exists ({len(state.fargate_profiles)} Fargate profile(s), {len(state.node_groups)} node group(s))"
                if state.exists
                else "does not exist yet"
            )
        )
        if state.exists:
            from composer.cluster import reconcile

            todo = ap.actions(
                self.plan.cluster,
                state,
                self.options,
                self.plan.release_keys,
                pinned_releases(self.plan.helmfile),
                self.plan.fixed_selectors,
            )
            self.differs = [f"{a.what} {a.name}: {a.detail}" for a in todo if a.kind == "differs"]
            for line in reconcile.lines(todo):
                self.say(line, style="yellow" if line.lstrip().startswith(("-", "!", "?")) else None)
            self.say(f"Cluster changes: {reconcile.summary(todo)}.")
        self.say(f"\n{len(steps)} step(s):")
        for n, step in enumerate(steps, 1):
            self.say(f"  {n}. {step.title}", style="red" if step.destructive else None)
            if step.argv:
                self.say(f"     $ {step.command}")

    def _confirmed(self, steps: list[ap.Step]) -> bool:
        if self.assume_yes:
            return True
        if not self.is_terminal():
            message = (
                "refusing to apply without confirmation: standard input is not a terminal. Review the steps "
                "above (or `compose apply --dry-run`) and pass --yes to run them. Nothing was changed."
            )
            self.say(f"error: {message}", error=True)
            self._report_json("refused", [], [message])
            return False
        destructive = sum(s.destructive for s in steps)
        prompt = (
            f"\nRun these {len(steps)} step(s)"
            + (f", {destructive} of them deleting" if destructive else "")
            + "? Only 'yes' is accepted: "
        )
        try:
            answer = self.ask(prompt)
        except EOFError:
            answer = ""
        if answer.strip() != "yes":
            self.say("Cancelled: nothing was changed or written.")
            return False
        return True

    def _execute(self, steps: list[ap.Step]) -> int:
        from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        log_path = self.log_path or STATE_DIR / "logs" / (
            "apply-" + dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ") + ".log"
        )
        with private_log(log_path) as log:
            self._log(
                log,
                f"compose apply: cluster {self.plan.settings.name} ({self.plan.settings.region}), {len(steps)} step(s)",
            )
            live_console = self.console if not self.json_output else None
            progress = Progress(
                SpinnerColumn(),
                TextColumn("{task.description}"),
                TimeElapsedColumn(),
                console=live_console,
                transient=True,
                disable=self.json_output,
            )
            task_ids: dict[int, int] = {}

            live = not self.json_output and bool(getattr(self.console, "is_terminal", False))
            beat = Heartbeat(lambda text: self.say(text), self.heartbeat_seconds, enabled=not live)

            def on_start(index: int, step: ap.Step) -> None:
                header = f"[{index + 1}/{len(steps)}] {step.title}"
                beat.start(f"step {index + 1} ({step.title})")
                self._log(log, header + (f"\n$ {step.command}" if step.argv else ""))
                self.say(f"\n{header}", style="bold")
                if step.argv:
                    self.say(f"$ {step.command}")
                for tid in task_ids.values():
                    progress.update(tid, visible=False)
                task_ids[index] = progress.add_task(header)

            def on_line(step: ap.Step, stream: str, text: str) -> None:
                beat.touch()
                self._log(log, f"{stream}: {text}")
                if self.json_output:
                    print(text, file=sys.stderr)
                else:
                    progress.console.print(
                        text,
                        markup=False,
                        highlight=False,
                        soft_wrap=True,
                        style="dim red" if stream == "err" else None,
                    )

            with progress, beat:
                results = ap.execute(steps, self.runner, lambda: write(self.plan), on_start, on_line)
            for result in results:
                self._log(
                    log,
                    f"step {result.step.title!r}: {result.status}"
                    + (f" (exit {result.code}, {result.seconds:.1f} s)" if result.code is not None else ""),
                )
        status = ap.outcome(results)
        self._report(results, status, log_path)
        if status == "interrupted":
            return for_signal(next(r.signal for r in results if r.status == "interrupted"))
        if status == "succeeded" and self.differs:  # a pipeline must not read "done" either
            return Exit.DIFFERS
        return {"succeeded": Exit.OK, "failed": Exit.STEP_FAILED}[status]

    @staticmethod
    def _log(log: TextIO, text: str) -> None:
        stamp = dt.datetime.now(dt.timezone.utc).strftime("%H:%M:%S")
        for line in text.splitlines() or [""]:
            log.write(f"{stamp} {line}\n")
        log.flush()

    def _report(self, results: list[ap.StepResult], status: str, log_path: Path) -> None:
        if self.json_output:
            self._report_json(status, results, [], log_path)
            return
        done = [n for n, r in enumerate(results, 1) if r.status == "done"]
        self.say("")
        for n, r in enumerate(results, 1):
            mark = {"done": "✓", "failed": "✗", "interrupted": "!", "not started": "·"}[r.status]
            detail = (
                f"{r.seconds:.1f} s" + (", changed" if r.changed and r.step.argv else "")
                if r.status == "done"
                else r.status
            )
            self.say(f"  {mark} {n}. {r.step.title} ({detail})")
        failed = next((r for r in results if r.status in ("failed", "interrupted")), None)
        if status == "succeeded":
            changed = sum(r.changed for r in results)
            if self.differs:  # never "complete" over a cluster that does not match the plan
                self.say(
                    f"\nAll {len(results)} step(s) succeeded ({changed} changed something), but the cluster "
                    "still differs from the plan where apply does not act:",
                    style="yellow",
                )
                for line in self.differs:
                    self.say(f"  ! {line}", style="yellow")
                self.say(f"Log: {log_path}")
                return
            self.say(
                f"\nApply complete: {len(results)} step(s), {changed} changed something. Log: {log_path}", style="green"
            )
            return
        index = results.index(failed) + 1
        not_started = [n for n, r in enumerate(results, 1) if r.status == "not started"]
        if status == "failed":
            self.say(
                f"\nStep {index} failed (exit {failed.code}): $ {failed.step.command or failed.step.title}", style="red"
            )
            for line in (failed.output_tail or failed.tail)[-10:]:
                self.say(f"    {line}")
        else:
            how = signal_name(failed.signal or 2)
            self.say(
                f"\nInterrupted during step {index} ({failed.step.title}) by {how}; the command was sent "
                f"{signal_name(forwarded(failed.signal or 2))} and has stopped. What it had done before "
                f"stopping stays done.",
                style="yellow",
            )
        self.say(
            f"Completed: {', '.join(map(str, done)) or 'none'}. Not started: "
            f"{', '.join(map(str, not_started)) or 'none'}."
        )
        self.say(
            "Re-run `compose apply` to continue: it checks what exists first and runs only what is still "
            f"missing. Log: {log_path}"
        )

    def _report_json(self, status: str, results: list, problems: list[str], log_path: Path | None = None) -> None:
        if not self.json_output:
            return
        print(
            json.dumps(
                {
                    "format_version": "1",
                    "status": status,
                    "problems": problems,
                    "differs": self.differs,
                    "log": str(log_path) if log_path else None,
                    "steps": [
                        {
                            "n": n,
                            "title": r.step.title,
                            "argv": list(r.step.argv),
                            "status": r.status,
                            "exit_code": r.code,
                            "seconds": round(r.seconds, 3),
                            "changed": r.changed,
                            "stderr_tail": r.tail[-10:] if r.status != "done" else [],
                            "output_tail": r.output_tail[-10:] if r.status != "done" else [],
                        }
                        for n, r in enumerate(results, 1)
                    ],
                },
                indent=2,
            )
        )


def signal_name(signum: int) -> str:
    import signal

    return "Ctrl-C" if signum == signal.SIGINT else signal.Signals(signum).name


@contextlib.contextmanager
def private_log(path: Path) -> Iterator[TextIO]:
    """Append to ``path``, created owner-only (0600, in a 0700 folder): tool output can hold secrets."""
    import os

    made = [f for f in (path.parent, *path.parent.parents) if not f.exists()]
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    for folder in made:  # only the folders made here: a --log-file in a shared folder leaves its mode alone
        os.chmod(folder, 0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | getattr(os, "O_NOFOLLOW", 0), 0o600)
    os.fchmod(fd, 0o600)
    with os.fdopen(fd, "a", encoding="utf-8") as log:
        yield log


class Heartbeat:
    """Without a live display (a CI log, ``-o json``), a step that prints nothing for minutes (eksctl
    waiting on CloudFormation, helm waiting for pods) looks hung: after each ``interval`` of silence,
    say that it is still running and for how long. On a terminal the spinner shows the elapsed time."""

    def __init__(self, say: Callable[[str], None], interval: float, enabled: bool = True):
        self.say, self.interval, self.enabled = say, interval, enabled
        self.title, self.started, self.last = "", 0.0, 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> "Heartbeat":
        if self.enabled:
            self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    def start(self, title: str) -> None:
        self.title, self.started = title, time.monotonic()
        self.last = self.started

    def touch(self) -> None:
        self.last = time.monotonic()

    def _run(self) -> None:
        while not self._stop.wait(min(self.interval / 4, 5.0)):
            now = time.monotonic()
            if self.title and now - self.last >= self.interval:
                minutes, seconds = divmod(int(now - self.started), 60)
                self.say(f"… still running: {self.title}, {minutes}m{seconds:02d}s so far")
                self.last = now
