#!/usr/bin/python3
"""Write a synthetic subscriber list of N rows (stdout): varied zones,
locales, non-ASCII names and a share of text-only readers.
Usage: genlist.py N > LIST.csv"""
import sys
import os
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib  # noqa: E402  (bench/benchlib.py)

ZONES = ["Europe/Berlin", "America/New_York", "America/Los_Angeles", "Asia/Kolkata",
         "Asia/Tokyo", "Pacific/Kiritimati", "Australia/Adelaide", "America/Sao_Paulo",
         "Europe/London", "Africa/Lagos", "Asia/Shanghai", "", "Europe/Paris",
         "America/Mexico_City", "Asia/Kathmandu", "Pacific/Auckland"]
LOCALES = ["de-DE", "en-US", "en-GB", "fr-FR", "ja-JP", "pt-BR", "es-MX", "hi-IN", ""]
NAMES = ["Zoë Çelik", "José Müller", "田中 花子", "Ólafur Arnalds", "Ann Lee", "Bob Smith",
         "Chloé Dubois", "Priya Nair"]




def main():
    benchlib.usage_or_help(__doc__, 1)
    n = int(sys.argv[1])
    out = sys.stdout
    out.write("email,name,timezone,locale,format\n")
    for i in range(n):
        fmt = "text" if i % 10 == 9 else "html"
        out.write(f"user{i}@example.org,{NAMES[i % len(NAMES)]} {i},"
                  f"{ZONES[i % len(ZONES)]},{LOCALES[i % len(LOCALES)]},{fmt}\n")


if __name__ == "__main__":
    main()
