"""`kioskd` command line: run, sim, check-config, diag, verify-journal, collect, command."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
from pathlib import Path

from kioskd import __version__
from kioskd import config as config_mod
from kioskd.errors import ConfigError, PrivacyError
from kioskd.privacy import install_log_scrubber

EXIT_CONFIG = 2


def _logging(verbose: bool) -> None:
    # configured before any driver import: python-escpos calls logging.basicConfig() on import,
    # which is a no-op once the root logger has a handler
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO,
                        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
                        stream=sys.stderr)


def _load(path: str | None) -> config_mod.Config:
    return config_mod.load(config_mod.find_config(path))


def cmd_check_config(args) -> int:
    path = config_mod.find_config(args.config)
    cfg = config_mod.load(path)
    print(f"{path}: ok: hall {cfg.hall.id}, {len(cfg.categories)} categories, "
          f"{len(cfg.windows)} windows, {len(cfg.kiosks)} kiosks, {len(cfg.devices)} devices")
    return 0


def cmd_device_acl(args) -> int:
    from kioskd import devicebroker

    sys.stdout.write(devicebroker.acl(_load(args.config), args.daemon_user))
    return 0


def cmd_run(args) -> int:
    from kioskd.hall import Hall

    cfg = _load(args.config)
    # the journal holds holder tokens, scans are citizens' papers: the daemon's own files are
    # its own (0600, folders 0700) however it is started, not only under the unit's UMask
    os.umask(0o077)
    asyncio.run(Hall(cfg).serve())
    return 0


def cmd_sim(args) -> int:
    from kioskd.sim.run import run_sim

    os.umask(0o077)  # as `kioskd run`: a simulated hall's journal and scans are as private
    cfg = _load(args.config)
    state = Path(args.state) if args.state else config_mod.state_dir(cfg) / "sim"
    return asyncio.run(run_sim(cfg, state, broker=args.broker, demo=args.demo,
                               api_port=args.api_port))


def cmd_verify_journal(args) -> int:
    from kioskd.journal import Journal

    cfg = _load(args.config)
    path = Path(args.journal) if args.journal else config_mod.state_dir(cfg) / "journal.sqlite3"
    if not path.exists():
        print(f"{path}: no journal", file=sys.stderr)
        return 1
    from kioskd.ledger import audit

    journal = Journal(path, cfg.hall.id)
    bad = journal.verify()
    last = journal.last_seq
    found = audit(journal)
    journal.close()
    if bad is not None:
        print(f"{path}: hash chain broken at seq {bad}", file=sys.stderr)
        return 1
    if found:
        print("\n".join(f"{path}: {f}" for f in found), file=sys.stderr)
        return 1
    print(f"{path}: ok, {last} rows, hash chain intact, days forward, no number issued twice")
    return 0


def cmd_collect(args) -> int:
    from kioskd.central.collector import run

    return run(args.broker, args.db, args.group, args.keys, args.client_id)


def cmd_diag(args) -> int:
    import os

    from kioskd.tui.app import run

    api, token = args.api, args.token or os.environ.get("KIOSKD_TOKEN", "")
    if args.token_file:
        token = Path(args.token_file).read_text().strip()
    if not api or not token:
        # on the hall's box: the address and a technician's token from its devices.toml
        try:
            cfg = _load(args.config)
        except (ConfigError, FileNotFoundError, PermissionError):
            cfg = None
        if cfg is not None:
            host = "127.0.0.1" if cfg.api.host in ("0.0.0.0", "::", "") else cfg.api.host
            api = api or f"http://{host}:{cfg.api.port}"
            token = token or next((c.token for c in cfg.api.clients
                                   if c.role == "technician"), "")
    if not token:
        print("kioskd diag: no technician token: give --token, --token-file or KIOSKD_TOKEN",
              file=sys.stderr)
        return EXIT_CONFIG
    return asyncio.run(run(api or "http://127.0.0.1:8470", token, args.ascii))


def cmd_devices(args) -> int:
    from kioskd import inventory

    if args.types:
        from kioskd.config import reference

        print(reference.markdown() if args.markdown else reference.text(), end="")
        return 0

    cfg = None
    if args.config or any(p.exists() for p in config_mod.DEFAULT_PATHS):
        try:
            cfg = _load(args.config)
        except (ConfigError, FileNotFoundError, PermissionError) as exc:
            print(f"kioskd devices: {exc}", file=sys.stderr)
            return EXIT_CONFIG
    inv = inventory.take(cfg, Path(args.sys), Path(args.dev))
    if args.json:
        print(json.dumps(inv.as_json(), ensure_ascii=False, indent=1))
    else:
        print(inventory.render(inv), end="")
    return 0


def cmd_command(args) -> int:
    from kioskd.central.command import run

    return run(args.broker, args.hall, args.key, args.op, args.args, args.ttl, args.timeout)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="kioskd", description=__doc__)
    parser.add_argument("--version", action="version", version=f"kioskd {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True)

    def add(name: str, fn, help_: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_)
        p.add_argument("-c", "--config", help="devices.toml (default ./devices.toml, then "
                                              "/etc/kioskd/devices.toml)")
        p.set_defaults(fn=fn)
        return p

    add("run", cmd_run, "run the hall daemon")
    p = add("sim", cmd_sim, "a whole simulated hall: device twins, a local broker, the daemon")
    p.add_argument("--broker", choices=("auto", "mosquitto", "embedded"), default="auto")
    p.add_argument("--demo", action="store_true", help="play citizens and clerks, in a loop")
    p.add_argument("--state", help="folder for the simulation's state (default STATE/sim)")
    p.add_argument("--api-port", type=int, help="override [api] listen's port (0 = any free)")
    add("check-config", cmd_check_config, "validate devices.toml")
    p = add("diag", cmd_diag, "the technician's console: every device of the hall, live")
    p.add_argument("--api", help="the daemon's API (default: [api] listen of devices.toml)")
    p.add_argument("--token", help="a technician's token (else KIOSKD_TOKEN, --token-file, or "
                                   "the first technician of devices.toml)")
    p.add_argument("--token-file", help="a file holding a technician's token")
    p.add_argument("--ascii", action="store_true",
                   help="ASCII borders (the Linux console, old terminals)")
    p = add("device-acl", cmd_device_acl, "the mosquitto acl_file of the hall's device broker: "
                                          "each networked device publishes only its own topics")
    p.add_argument("--daemon-user", default="kioskd", help="the daemon's login (default kioskd)")
    p = add("verify-journal", cmd_verify_journal, "check the journal's hash chain")
    p.add_argument("--journal", help="journal file (default STATE/journal.sqlite3)")

    p = add("devices", cmd_devices, "what is plugged in, which [[device]] each is, what is "
                                    "absent, and blocks for the known ones no entry names")
    p.add_argument("--json", action="store_true", help="for scripts")
    p.add_argument("--types", action="store_true",
                   help="the device types this version drives, and each one's options")
    p.add_argument("--markdown", action="store_true", help="--types as docs/device-types.md")
    p.add_argument("--sys", default="/sys", help=argparse.SUPPRESS)  # tests, chroots
    p.add_argument("--dev", default="/dev", help=argparse.SUPPRESS)
    p = sub.add_parser("collect", help="the reference central collector: every hall's events "
                                       "into SQLite or PostgreSQL, acknowledged")
    p.add_argument("--broker", required=True, help="mqtt://host:port")
    p.add_argument("--db", required=True,
                   help="a SQLite file, or a PostgreSQL DSN postgresql://USER@HOST/DB "
                        "(pip install 'kioskd[central]')")
    p.add_argument("--group", default="kioskd-collect",
                   help="shared-subscription group: collectors of one group share the load")
    p.add_argument("--keys", metavar="DIR",
                   help="each hall's command key as DIR/HALL.key: acks are signed with it "
                        "(a hall refuses an unsigned ack)")
    p.add_argument("--client-id", default="",
                   help="the MQTT client id: keep it across restarts, and the broker keeps "
                        "what arrived for this collector while it was down (default: new at each "
                        "start)")
    p.set_defaults(fn=cmd_collect)

    p = sub.add_parser("command", help="central's side: sign a command with the hall's key, send "
                                       "it, print the hall's answer (exit 1 if refused)")
    p.add_argument("--broker", required=True, help="mqtt://host:port")
    p.add_argument("--hall", required=True, help="the hall's id")
    p.add_argument("--key", required=True, help="the hall's command key file (hex)")
    p.add_argument("--ttl", type=float, default=300, help="seconds the command stays valid")
    p.add_argument("--timeout", type=float, default=30, help="seconds to wait for the answer")
    p.add_argument("op", help="announce, window.pause, window.resume, device.test, "
                              "config.reload, appointments.update, zone.emergency, zone.deny")
    p.add_argument("args", nargs="?", default="{}", help='the op\'s args as JSON, e.g. '
                                                        '\'{"window": 3}\'')
    p.set_defaults(fn=cmd_command)

    args = parser.parse_args(argv)
    install_log_scrubber()  # first: no record, from any library, is made before it
    _logging(args.verbose)
    try:
        return args.fn(args)
    except ConfigError as exc:
        for line in exc.problems:
            print(line, file=sys.stderr)
        return EXIT_CONFIG
    except PrivacyError as exc:
        print(f"kioskd: refusing to start: {exc} ({exc.code})", file=sys.stderr)
        return EXIT_CONFIG
    except KeyboardInterrupt:
        return 130
