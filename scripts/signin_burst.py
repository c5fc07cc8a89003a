#!/usr/bin/env python3
"""How /healthz answers while 16 sign-ins hash passwords at once (scrypt at the production cost).

Usage: python3 scripts/signin_burst.py http://127.0.0.1:PORT   (against `ope serve --workspaces none` on a fresh data dir)
"""
import json, sys, threading, time, urllib.request
base = sys.argv[1]
def login(i):
    req = urllib.request.Request(base + "/api/auth/login", data=json.dumps({"username": f"nobody{i}", "password": "wrong-password"}).encode(), headers={"Content-Type": "application/json"})
    try: urllib.request.urlopen(req, timeout=60).read()
    except Exception: pass
def healthz():
    t = time.perf_counter(); urllib.request.urlopen(base + "/healthz", timeout=60).read(); return (time.perf_counter() - t) * 1000
quiet = sorted(healthz() for _ in range(10))
results = []
for round in range(3):
    threads = [threading.Thread(target=login, args=(round * 100 + i,)) for i in range(16)]
    for t in threads: t.start()
    time.sleep(0.05)
    during = [healthz() for _ in range(5)]
    for t in threads: t.join()
    results += during
results.sort()
print(f"healthz quiet p50 {quiet[5]:.1f} ms; during 16 concurrent sign-ins: p50 {results[len(results)//2]:.1f} ms, max {results[-1]:.1f} ms (n={len(results)})")
