"""Turns bench/run's figures into the Markdown table; exits non-zero when a figure is missing
(or, in a full run, prints which targets were missed).

A figure measured in alternating rounds appears once per round; a ratio of two such figures is
the median of the per-round ratios, and its absolute figures are the medians of the rounds. The
hashing limit, measured before and after the hashing scenarios, is their mean."""

import statistics
import sys

path, quick, cores, cost, small_users, big_users, sessions, rounds = sys.argv[1:9]
values = {}
with open(path) as source:
    for line in source:
        name, value = line.split()
        values.setdefault(name, []).append(float(value))

expected = [
    "hash_limit", "startup_empty_ms", "rss_start_mib", "hello_rps", "profile_rps", "profile_p99_alone_ms",
    "profile_p99_loaded_ms", "profile_p99_spinning_ms", "login_rps", "register_rps", "profile_small_db_rps", "startup_big_ms",
    "profile_big_db_rps", "rss_end_mib", "login_during_reads_rps", "login_alone_ms", "login_after_flood_ms",
    "rss_flood_peak_mib", "flood_requests", "flood_share", "pg_profile_small_db_rps", "pg_profile_big_db_rps",
    "pg_hello_rps", "pg_profile_rps", "pg_profile_p99_alone_ms", "pg_profile_p99_loaded_ms", "pg_hash_limit",
    "pg_login_rps", "ui_login_hello_rps", "ui_login_rps", "ui_account_hello_rps", "ui_account_rps", "ui_account_en_rps",
    "ui_account_fr_rps", "auth_verify_hello_rps", "auth_verify_rps",
]
# Figures that may be 0: the logins answered while reads are served (all of them may be shed).
may_be_zero = {"login_during_reads_rps"}
missing = [
    name for name in expected if not values.get(name) or (min(values[name]) <= 0 and name not in may_be_zero)
]
if missing:
    sys.exit("scenarios without figures: " + ", ".join(missing))
if len(values["hash_limit"]) != 2:
    sys.exit("the hashing limit was not measured before and after")
for name in ["hello_rps", "profile_rps", "profile_small_db_rps", "profile_big_db_rps", "pg_hello_rps", "pg_profile_rps",
             "pg_profile_small_db_rps", "pg_profile_big_db_rps", "ui_login_hello_rps", "ui_login_rps",
             "ui_account_hello_rps", "ui_account_rps", "ui_account_en_rps", "ui_account_fr_rps",
             "auth_verify_hello_rps", "auth_verify_rps"]:
    if len(values[name]) != int(rounds):
        sys.exit(f"{name}: {len(values[name])} rounds instead of {rounds}")


def paired(numerator, denominator):
    """The median of the per-round ratios, and their range."""
    ratios = [a / b for a, b in zip(values[numerator], values[denominator])]
    return statistics.median(ratios), min(ratios), max(ratios)


figures = {name: statistics.median(found) for name, found in values.items()}
figures["hash_limit"] = statistics.mean(values["hash_limit"])
figures["pg_hash_limit"] = statistics.mean(values["pg_hash_limit"])
profile_ratio, profile_low, profile_high = paired("profile_rps", "hello_rps")
size_ratio, size_low, size_high = paired("profile_big_db_rps", "profile_small_db_rps")
pg_profile_ratio, pg_profile_low, pg_profile_high = paired("pg_profile_rps", "pg_hello_rps")
pg_size_ratio, pg_size_low, pg_size_high = paired("pg_profile_big_db_rps", "pg_profile_small_db_rps")
ui_login_ratio, ui_login_low, ui_login_high = paired("ui_login_rps", "ui_login_hello_rps")
ui_account_ratio, ui_account_low, ui_account_high = paired("ui_account_rps", "ui_account_hello_rps")
ui_french_ratio, ui_french_low, ui_french_high = paired("ui_account_fr_rps", "ui_account_en_rps")
verify_ratio, verify_low, verify_high = paired("auth_verify_rps", "auth_verify_hello_rps")
f = figures
rows = [
    ("`GET /`", f"{f['hello_rps']:,.0f} req/s", "reference", None, None),
    ("`GET /profile` with a valid cookie",
     f"{f['profile_rps']:,.0f} req/s; per-round ratios {profile_low:.2f} to {profile_high:.2f}",
     "≥ 0.5 of `GET /`", profile_ratio, lambda r: r >= 0.5),
    ("`GET /ui/login`, no session",
     f"{f['ui_login_rps']:,.0f} vs {f['ui_login_hello_rps']:,.0f} req/s; per-round ratios {ui_login_low:.2f} to "
     f"{ui_login_high:.2f}",
     "≥ 0.5 of `GET /`", ui_login_ratio, lambda r: r >= 0.5),
    ("`GET /ui/account` with a session",
     f"{f['ui_account_rps']:,.0f} vs {f['ui_account_hello_rps']:,.0f} req/s; per-round ratios {ui_account_low:.2f} "
     f"to {ui_account_high:.2f}",
     "≥ 0.3 of `GET /`", ui_account_ratio, lambda r: r >= 0.3),
    ("`GET /ui/account` in French (`Accept-Language: fr-CA,fr;q=0.9`)",
     f"{f['ui_account_fr_rps']:,.0f} vs {f['ui_account_en_rps']:,.0f} req/s in English; per-round ratios "
     f"{ui_french_low:.2f} to {ui_french_high:.2f}",
     "≥ 0.9 of English (as fast, within the rounds' spread)", ui_french_ratio, lambda r: r >= 0.9),
    ("`GET /auth/verify` with a session (a proxy's check)",
     f"{f['auth_verify_rps']:,.0f} vs {f['auth_verify_hello_rps']:,.0f} req/s; per-round ratios {verify_low:.2f} to "
     f"{verify_high:.2f}",
     "≥ 0.5 of `GET /`", verify_ratio, lambda r: r >= 0.5),
    (f"`POST /sessions`, {int(cores) * 4} clients",
     f"{f['login_rps']:,.1f} logins/s; limit {f['hash_limit']:,.1f} verifies/s "
     f"({values['hash_limit'][0]:,.1f} before, {values['hash_limit'][1]:,.1f} after)",
     "≥ 0.9 of the hashing limit", f["login_rps"] / f["hash_limit"], lambda r: r >= 0.9),
    ("`GET /profile` p99 while logins saturate the hashing",
     f"{f['profile_p99_loaded_ms']:.2f} ms vs {f['profile_p99_alone_ms']:.2f} ms alone; "
     f"{f['login_during_reads_rps']:.1f} logins/s meanwhile, {f.get('login_shed_during_reads', 0):,.0f} shed with 503",
     "≤ 3x", f["profile_p99_loaded_ms"] / f["profile_p99_alone_ms"], lambda r: r <= 3),
    (f"control: `GET /profile` p99 while {cores} idle-priority spin loops keep the cores busy",
     f"{f['profile_p99_spinning_ms']:.2f} ms; with logins {f['profile_p99_loaded_ms']:.2f} ms",
     "none (with logins / spinning)", f["profile_p99_loaded_ms"] / f["profile_p99_spinning_ms"], None),
    (f"`GET /profile`, {int(big_users):,} vs {int(small_users):,} users, {int(sessions):,} sessions",
     f"{f['profile_big_db_rps']:,.0f} vs {f['profile_small_db_rps']:,.0f} req/s; "
     f"per-round ratios {size_low:.2f} to {size_high:.2f}",
     "≥ 0.9", size_ratio, lambda r: r >= 0.9),
    ("`POST /users`", f"{f['register_rps']:,.1f} registrations/s", "≥ 0.85 of the hashing limit",
     f["register_rps"] / f["hash_limit"], lambda r: r >= 0.85),
    ("memory after start, empty database", f"{f['rss_start_mib']:.1f} MiB", "< 64 MiB", f["rss_start_mib"],
     lambda r: r < 64),
    ("memory at the end of the run", f"{f['rss_end_mib']:.1f} MiB", "< 160 MiB", f["rss_end_mib"], lambda r: r < 160),
    ("`GET /profile` on PostgreSQL, over `GET /` on the same server",
     f"{f['pg_profile_rps']:,.0f} vs {f['pg_hello_rps']:,.0f} req/s; per-round ratios {pg_profile_low:.2f} to "
     f"{pg_profile_high:.2f}",
     "≥ 0.4", pg_profile_ratio, lambda r: r >= 0.4),
    (f"`GET /profile` on PostgreSQL, {int(big_users):,} vs {int(small_users):,} users",
     f"{f['pg_profile_big_db_rps']:,.0f} vs {f['pg_profile_small_db_rps']:,.0f} req/s; per-round ratios "
     f"{pg_size_low:.2f} to {pg_size_high:.2f}",
     "≥ 0.9", pg_size_ratio, lambda r: r >= 0.9),
    (f"`POST /sessions` on PostgreSQL, {int(cores) * 4} clients",
     f"{f['pg_login_rps']:,.1f} logins/s; limit {f['pg_hash_limit']:,.1f} verifies/s",
     "≥ 0.9 of the hashing limit", f["pg_login_rps"] / f["pg_hash_limit"], lambda r: r >= 0.9),
    ("`GET /profile` p99 on PostgreSQL while logins saturate the hashing",
     f"{f['pg_profile_p99_loaded_ms']:.2f} ms vs {f['pg_profile_p99_alone_ms']:.2f} ms alone",
     "≤ 3x", f["pg_profile_p99_loaded_ms"] / f["pg_profile_p99_alone_ms"], lambda r: r <= 3),
    ("a login 1 s after a flood of 400 connections ends, over one login alone",
     f"{f['login_after_flood_ms']:.0f} ms vs {f['login_alone_ms']:.0f} ms alone",
     "≤ 4", f["login_after_flood_ms"] / f["login_alone_ms"], lambda r: r <= 4),
    ("share of the flood's logins answered 200 or 503 within `HASH_QUEUE_TIMEOUT` + one hash",
     f"{f['flood_requests']:,.0f} answered: {f['flood_ok']:,.0f} × 200, {f['flood_shed']:,.0f} × 503, "
     f"{f['flood_other']:,.0f} other; {f['flood_errors']:,.0f} socket errors",
     "≥ 0.99", f["flood_share"], lambda r: r >= 0.99),
    ("memory at the flood's peak", f"{f['rss_flood_peak_mib']:.1f} MiB", "< 160 MiB", f["rss_flood_peak_mib"],
     lambda r: r < 160),
    (f"start-up to the first 200, {int(big_users):,} users vs empty",
     f"{f['startup_big_ms']:.0f} ms vs {f['startup_empty_ms']:.0f} ms", "≤ 2x",
     f["startup_big_ms"] / f["startup_empty_ms"], lambda r: r <= 2),
]

mode = "quick (debug build, small databases; targets not checked)" if quick == "1" else "full"
print(f"Mode: {mode}; {cores} cores; BCRYPT_COST={cost}; {rounds} alternating rounds per throughput ratio\n")
# A quick run checks only that every scenario ran and gave figures: with small databases and a
# debug binary its ratios say nothing of the targets, so it shows no "met" column.
if quick == "1":
    print("| scenario | figures | target | ratio |")
    print("|---|---|---|---|")
else:
    print("| scenario | figures | target | ratio | met |")
    print("|---|---|---|---|---|")
for name, absolute, target, ratio, check in rows:
    shown = "" if ratio is None else f"{ratio:.2f}"
    if quick == "1":
        print(f"| {name} | {absolute} | {target} | {shown} |")
        continue
    met = "" if check is None else ("yes" if check(ratio) else "**no**")
    print(f"| {name} | {absolute} | {target} | {shown} | {met} |")
