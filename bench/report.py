"""Turns bench/run's figures into the Markdown table; exits non-zero when a figure is missing
(or, in a full run, prints which targets were missed)."""

import sys

path, quick, cores, cost, small_users, big_users, sessions = sys.argv[1:8]
figures = {}
with open(path) as source:
    for line in source:
        name, value = line.split()
        figures[name] = float(value)

expected = [
    "hash_limit", "startup_empty_ms", "rss_start_mib", "hello_rps", "profile_rps", "profile_p99_alone_ms",
    "profile_p99_loaded_ms", "login_rps", "register_rps", "profile_small_db_rps", "startup_big_ms",
    "profile_big_db_rps", "rss_end_mib",
]
missing = [name for name in expected if figures.get(name, 0) <= 0]
if missing:
    sys.exit("scenarios without figures: " + ", ".join(missing))

f = figures
rows = [
    ("`GET /`", f"{f['hello_rps']:,.0f} req/s", "reference", None, None),
    ("`GET /profile` with a valid cookie", f"{f['profile_rps']:,.0f} req/s",
     "≥ 0.5 of `GET /`", f["profile_rps"] / f["hello_rps"], lambda r: r >= 0.5),
    (f"`POST /sessions`, {int(cores) * 4} clients", f"{f['login_rps']:,.1f} logins/s; limit {f['hash_limit']:,.1f} verifies/s",
     "≥ 0.9 of the hashing limit", f["login_rps"] / f["hash_limit"], lambda r: r >= 0.9),
    ("`GET /profile` p99 while logins saturate the hashing",
     f"{f['profile_p99_loaded_ms']:.2f} ms vs {f['profile_p99_alone_ms']:.2f} ms alone",
     "≤ 3x", f["profile_p99_loaded_ms"] / f["profile_p99_alone_ms"], lambda r: r <= 3),
    (f"`GET /profile`, {int(big_users):,} vs {int(small_users):,} users, {int(sessions):,} sessions",
     f"{f['profile_big_db_rps']:,.0f} vs {f['profile_small_db_rps']:,.0f} req/s",
     "≥ 0.9", f["profile_big_db_rps"] / f["profile_small_db_rps"], lambda r: r >= 0.9),
    ("`POST /users`", f"{f['register_rps']:,.1f} registrations/s", "≥ 0.85 of the hashing limit",
     f["register_rps"] / f["hash_limit"], lambda r: r >= 0.85),
    ("memory after start, empty database", f"{f['rss_start_mib']:.1f} MiB", "< 64 MiB", f["rss_start_mib"],
     lambda r: r < 64),
    ("memory at the end of the run", f"{f['rss_end_mib']:.1f} MiB", "< 160 MiB", f["rss_end_mib"], lambda r: r < 160),
    (f"start-up to the first 200, {int(big_users):,} users vs empty",
     f"{f['startup_big_ms']:.0f} ms vs {f['startup_empty_ms']:.0f} ms", "≤ 2x",
     f["startup_big_ms"] / f["startup_empty_ms"], lambda r: r <= 2),
]

mode = "quick (debug build, small databases; targets not checked)" if quick == "1" else "full"
print(f"Mode: {mode}; {cores} cores; BCRYPT_COST={cost}\n")
print("| scenario | figures | target | ratio | met |")
print("|---|---|---|---|---|")
for name, absolute, target, ratio, check in rows:
    shown = "" if ratio is None else f"{ratio:.2f}"
    met = "" if check is None else ("yes" if check(ratio) else "**no**")
    print(f"| {name} | {absolute} | {target} | {shown} | {met} |")
