"""Terminal output of ``udpeco check``: one line per check and a summary; the class table."""

from __future__ import annotations

from typing import Any

from udpeco.check.model import FAIL, MISSING, NOT_CHECKABLE, PASS

WORDS = {
    "es": {PASS: "PASA", FAIL: "FALLA", MISSING: "FALTA", NOT_CHECKABLE: "NO COMPROBABLE"},
    "en": {PASS: "PASS", FAIL: "FAIL", MISSING: "MISSING", NOT_CHECKABLE: "NOT CHECKABLE"},
}
MARK = {PASS: "ok", FAIL: "XX", MISSING: "--", NOT_CHECKABLE: "??"}


def isolation_text(report: dict[str, Any]) -> str:
    es = report["lang"] == "es"
    if report["isolation"] == "netns":
        return (
            "ejercicios en paralelo, cada uno en su propio espacio de red"
            if es
            else "exercises in parallel, each in its own network namespace"
        )
    return (
        "ejercicios uno tras otro en el loopback de la máquina (sin espacios de red)"
        if es
        else "exercises one after another on the machine's loopback (no network namespaces)"
    )


def render(report: dict[str, Any], verbose: bool = False) -> str:
    """The terminal text for one student's report."""
    lang = report["lang"]
    es = lang == "es"
    words = WORDS[lang]
    out = [
        f"udpeco check: {report['path']}",
        ("  python: " if es else "  python: ") + report["python"],
        ("  modo: " if es else "  mode: ") + isolation_text(report),
    ]
    for ex in report["exercises"]:
        out.append(f"{ex['id']:<13} {words[ex['status']]:<6} {ex['title']}")
        if ex["status"] == MISSING and all(c["status"] == MISSING for c in ex["checks"]):
            reason = ex["checks"][0]["reason"] if ex["checks"] else ""
            out.append(f"    -- {reason}")
            continue
        for c in ex["checks"]:
            line = f"  [{MARK[c['status']]}] {c['id']}: {c['title']}"
            if c["status"] == PASS:
                if verbose and c["got"]:
                    line += f" ({c['got']})"
            elif c["reason"]:
                line += f" -> {c['reason']}"
            out.append(line)
            if c["status"] == FAIL:
                if c["expected"]:
                    out.append(("       esperado: " if es else "       expected: ") + c["expected"])
                if c["got"]:
                    out.append(("       obtenido: " if es else "       got:      ") + c["got"])
                quote = " ".join(c["quote"].split())
                out.append(("       práctica: " if es else "       práctica: ") + f"«{quote}»")
            elif c["status"] == PASS and c["id"].startswith("ex5.") and c["got"]:
                for part in c["got"].split("; "):
                    out.append(f"       {part}")
    out.append(summary(report))
    return "\n".join(out)


def counts(report: dict[str, Any]) -> dict[str, int]:
    n = {s: 0 for s in (PASS, FAIL, NOT_CHECKABLE, MISSING)}
    for ex in report["exercises"]:
        n[ex["status"]] += 1
    return n


def summary(report: dict[str, Any]) -> str:
    n = counts(report)
    checks = [c for ex in report["exercises"] for c in ex["checks"]]
    passed = sum(c["status"] == PASS for c in checks)
    failed = sum(c["status"] == FAIL for c in checks)
    if report["lang"] == "es":
        return (
            f"Resumen: {n[PASS]} ejercicios pasan, {n[FAIL]} fallan, "
            f"{n[NOT_CHECKABLE]} no comprobables, {n[MISSING]} faltan; "
            f"{passed} comprobaciones pasan, {failed} fallan ({report['duration_s']:.1f} s)"
        )
    return (
        f"Summary: {n[PASS]} exercises pass, {n[FAIL]} fail, "
        f"{n[NOT_CHECKABLE]} not checkable, {n[MISSING]} missing; "
        f"{passed} checks pass, {failed} fail ({report['duration_s']:.1f} s)"
    )


def class_table(rows: list[tuple[str, dict[str, Any]]], lang: str) -> str:
    """Students x exercises: ok / XX / -- / ?? per cell, and the checks passed."""
    if not rows:
        return ""
    ids = [ex["id"] for ex in rows[0][1]["exercises"]]
    width = max(8, *(len(name) for name, _ in rows))
    head = (
        f"{'alumno' if lang == 'es' else 'student':<{width}} "
        + " ".join(f"{i[:6]:>6}" for i in ids)
        + ("  comprobaciones" if lang == "es" else "  checks")
    )
    out = [head]
    for name, report in rows:
        cells = {ex["id"]: MARK[ex["status"]] for ex in report["exercises"]}
        checks = [c for ex in report["exercises"] for c in ex["checks"]]
        passed = sum(c["status"] == PASS for c in checks)
        out.append(
            f"{name:<{width}} "
            + " ".join(f"{cells.get(i, ''):>6}" for i in ids)
            + f"  {passed}/{len(checks)}"
        )
    legend = (
        "ok pasa, XX falla, -- falta, ?? no comprobable"
        if lang == "es"
        else "ok pass, XX fail, -- missing, ?? not checkable"
    )
    out.append(legend)
    return "\n".join(out)
