"""The medians of `tether bench register` runs, one row per target: the lines of RESULTS are
"TARGET: <bench output line>". With an `echo` target, each rate is also given as a multiple
of the echo's. Usage: register_summary.py RESULTS"""
import re
import statistics
import sys

rows = {}
for line in open(sys.argv[1]):
    name, _, rest = line.partition(": ")
    r = rows.setdefault(name, {"update": [], "register": [], "cpu": [], "per_reg": [],
                               "per_update": []})
    if m := re.match(r"(register|update)\s+\d+ ok.*?:\s+(\d+) /s", rest):
        r[m.group(1)].append(float(m.group(2)))
    if m := re.search(r"RSS.* ([\d.]+) bytes each", rest):
        r["per_reg"].append(float(m.group(1)))
    if m := re.search(r"([\d.]+) us each.*RSS ([+-][\d.]+) bytes per update", rest):
        r["cpu"].append(float(m.group(1)))
        r["per_update"].append(float(m.group(2)))


def med(v):
    return statistics.median(v) if v else float("nan")


echo = med(rows.get("echo", {}).get("update", []))
print(f"{'target':10} {'updates/s':>10} {'x echo':>7} {'register/s':>10} {'CPU us/update':>13} "
      f"{'updates/CPU s':>13} {'B/registration':>14} {'B/update':>9}")
for name, r in rows.items():
    u, cpu = med(r["update"]), med(r["cpu"])
    print(f"{name:10} {u:10.0f} {u / echo:7.2f} {med(r['register']):10.0f} {cpu:13.2f} "
          f"{1e6 / cpu:13.0f} {med(r['per_reg']):14.0f} {med(r['per_update']):9.1f}")
