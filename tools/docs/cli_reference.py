"""The command reference, generated from ``varbind.cli``'s argparse parsers.

The docs build calls :func:`render` for the ``{{ cli_reference }}`` placeholder, so every
command and option on the site is the parser's own: a changed option changes the page.
"""

from __future__ import annotations

import argparse
import html
import re
import shlex

from varbind.cli import build_parser, subcommand_parsers

GLOBAL_DESTS = {"help", "verbose", "quiet", "version"}


def commands(parser: argparse.ArgumentParser | None = None) -> list[argparse.ArgumentParser]:
    """Every subcommand parser, depth first, in the order ``--help`` lists them."""
    return subcommand_parsers(parser or build_parser())


def options(parser: argparse.ArgumentParser) -> list[argparse.Action]:
    """The parser's own arguments and options (not -h, -q, -v, not nested subcommands)."""
    return [a for a in parser._actions
            if a.dest not in GLOBAL_DESTS and a.help != argparse.SUPPRESS
            and not isinstance(a, argparse._SubParsersAction)]


def _cell(text: str) -> str:
    """Text safe inside a Markdown table cell."""
    text = html.escape(" ".join(str(text).split()), quote=False)
    text = text.replace("|", "\\|").replace("*", "\\*").replace("_", "\\_")
    return text


def _code(text: str) -> str:
    return "`" + str(text).replace("|", "\\|").replace("`", "'") + "`"


def _help(parser: argparse.ArgumentParser, action: argparse.Action) -> str:
    formatter = parser._get_formatter()
    return formatter._expand_help(action) if action.help else ""


def _names(action: argparse.Action) -> str:
    if not action.option_strings:
        return _code(action.metavar or action.dest)
    metavar = ""
    if action.nargs != 0:
        metavar = action.metavar or (
            "{" + ",".join(map(str, action.choices)) + "}" if action.choices
            else action.dest.upper())
    return ", ".join(_code(f"{o} {metavar}".strip()) for o in action.option_strings)


def _default(action: argparse.Action) -> str:
    if action.nargs == 0 or action.default in (None, argparse.SUPPRESS) or action.required:
        return "required" if action.required else ""
    return _code(action.default)


def _anchor(prog: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", prog.lower()).strip("-")


def render_command(parser: argparse.ArgumentParser, level: int = 2) -> str:
    lines = [f"{'#' * level} `{parser.prog}` {{ #{_anchor(parser.prog)} }}", ""]
    if parser.description:
        lines += [html.escape(parser.description, quote=False).replace("\n\n", "\n\n"), ""]
    usage = parser.format_usage().replace("usage: ", "", 1).rstrip()
    lines += ["```text", usage, "```", ""]
    rows = options(parser)
    if rows:
        lines += ["| argument | default | meaning |", "|---|---|---|"]
        for action in rows:
            lines.append(f"| {_names(action)} | {_default(action)} | "
                         f"{_cell(_help(parser, action))} |")
        lines.append("")
    return "\n".join(lines)


def render() -> str:
    """The whole command reference as Markdown."""
    parser = build_parser()
    subs = commands(parser)
    lines = ["Every subcommand also takes `-q/--quiet` (warnings and errors only) and "
             "`-v/--verbose` (more log output, `-vv` for debug), before or after the "
             "subcommand, and `-h/--help`.", "",
             "| command | what it does |", "|---|---|"]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for choice in action._choices_actions:
                lines.append(f"| [{_code('varbind ' + choice.dest)}](#varbind-{choice.dest}) | "
                             f"{_cell(choice.help or '')} |")
    lines.append("")
    for sub in subs:
        level = 2 + sub.prog.count(" ") - 1
        lines.append(render_command(sub, level=min(level, 4)))
    return "\n".join(lines)


_SHELL_BLOCK = re.compile(r"```(?:bash|sh|shell|console)\n(.*?)\n```", re.S)
_INLINE = re.compile(r"(?<!`)`(varbind [^`\n]+)`(?!`)")


def quoted_commands(markdown: str) -> list[str]:
    """The ``varbind ...`` command lines a page quotes: lines of shell code blocks (with
    ``\\`` continuations joined, a trailing ``# comment`` dropped) and inline code spans."""
    found = []
    for block in _SHELL_BLOCK.findall(markdown):
        for line in re.sub(r"\\\n\s*", " ", block).splitlines():
            line = line.strip().removeprefix("$ ")
            if line.startswith("varbind "):
                found.append(re.split(r"\s#", line)[0])
    prose = _SHELL_BLOCK.sub("", markdown)
    return found + [m.strip() for m in _INLINE.findall(prose)]


def unknown_options(command: str, parser: argparse.ArgumentParser | None = None) -> list[str]:
    """Problems of one quoted command line against the parsers: a subcommand that does not
    exist, or an option its subcommand does not take. Empty when the line is valid."""
    root = parser or build_parser()
    progs = {p.prog: p for p in commands(root)}
    try:
        words = shlex.split(command)[1:]
    except ValueError:
        return [f"{command!r}: not a shell command line"]
    prog, args = root.prog, []
    for word in words:
        if not args and f"{prog} {word}" in progs:
            prog = f"{prog} {word}"
        elif word.startswith("-") or prog != root.prog:
            args.append(word)
        else:
            return [f"{command!r}: no command {prog} {word}"]
    if prog == root.prog:
        return []  # `varbind --help`, `varbind --version`
    known = {o for p in (root, progs[prog]) for a in p._actions for o in a.option_strings}
    flags = [f.split("=")[0] for w in args if re.match(r"--?[A-Za-z]", w)
             for f in w.split("/")]  # prose may write `--positives/--negatives`
    return [f"{command!r}: {prog} has no option {f}" for f in flags if f not in known]
