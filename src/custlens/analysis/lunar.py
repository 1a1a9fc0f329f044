"""Chinese lunisolar (农历) dates to Gregorian ones, for lunar birthdays (1900–2098).

A lunar year starts on its new year's day (春节) and has 12 months of 29 or 30 days, or
13 when it holds a leap month (闰月) after month `leap`. Each entry of YEARS is one lunar
year: the Gregorian date of its first day (YYYYMMDD), its leap month in hex (0: none), and
a bit per month in calendar order, leap month included, 1 for a 30-day month — the
published calendar (Hong Kong Observatory tables), checked in tests against dates any
Chinese calendar shows (春节 and 中秋 of recent years).
"""

from __future__ import annotations

import datetime as dt
from functools import cache

FIRST_YEAR = 1900
_TABLE = """
190001318096d 19010219004ae 1902020800a57 1903012950a4d 1904021600d26 1905020400d95
1906012540d55 190702130056a 19080202009ad 190901222095d 19100210004ae 191101306149b
1912021800a4d 1913020600d25 1914012651aa5 1915021400b54 1916020300d6a 19170123212da
191802110095b 1919020170937 1920022000497 1921020800a4b 192201285164b 19230216006a5
19240205006d4 19250124415b5 19260213002b6 1927020200957 192801232092f 1929021000497
1930013060c96 1931021700d4a 1932020600ea5 1933012650d69 19340214005ad 19350204002b6
193601243126e 193702110092e 193801317192d 1939021900c95 1940020800d4a 1941012761b4a
1942021500b55 194302050056a 194401254155b 194502130025d 194602020092d 194701222192b
1948021000a95 1949012971695 19500217006ca 1951020600b55 1952012750ab5 19530214004da
1954020300a5d 1955012430a57 195602120052b 195701318152a 1958021800e95 19590208006aa
19600128615aa 1961021500ab5 19620205004b6 19630125414ae 1964021300a57 1965020200526
1966012131d26 1967020900d95 1968013070b55 196902170056a 197002060096d 197101275095d
19720215004ad 1973020300a4d 1974012341a4d 1975021100d25 1976013181aa5 1977021800b54
1978020700b5a 19790128612da 198002160095b 198102050049b 1982012541497 1983021300a4b
19840202a164b 19850220006a5 19860209006d4 19870129615b4 1988021700ab6 1989020600957
199001275092f 1991021500497 199202040064b 1993012330d4a 1994021000ea5 1995013180d65
19960219005ac 1997020700ab6 199801285126d 199902160092e 2000020500c96 2001012441a95
2002021200d4a 2003020100da5 2004012220b55 200502090056a 200601297155b 200702180025d
200802070092d 200901265192b 2010021400a95 2011020300b4a 20120123416aa 2013021000ad5
2014013190ab5 20150219004ba 2016020800a5b 2017012860a57 201802160052b 2019020500a93
2020012540e95 20210212006aa 2022020100ad5 20230122209b5 20240210004b6 20250129614ae
2026021700a4e 2027020600d26 2028012651d26 2029021300d53 20300203005aa 2031012330d6a
203202110096d 20330131b095d 20340219004ad 2035020800a4d 2036012861a4b 2037021500d25
2038020400d52 2039012451b54 2040021200b5a 204102010056d 204201222095b 204302100049b
2044013071497 2045021700a4b 2046020600aa5 20470126516a5 20480214006d2 2049020200ada
2050012330ab6 2051021100937 205202018092f 2053021900497 205402080064b 2055012860d4a
2056021500ea5 20570204006aa 205801244156c 2059021200aae 206002020092e 206101213192e
2062020900c96 2063012971a95 2064021700d4a 2065020500da5 2066012650b55 206702140056a
2068020300a6d 2069012340a5d 207002110052d 207101318152b 2072021900a95 2073020700b4a
20740127616aa 2075021500ad5 207602050055a 20770124414ba 2078021200a5b 207902020052b
2080012231527 2081020900693 2082012970e53 20830217006aa 2084020600ad5 20850126509b5
20860214004b6 2087020300a57 2088012440a4e 2089021000d16 2090013081d26 2091021800d52
2092020700daa 2093012760d6a 209402150056d 20950205004ae 209601254149d 2097021200a2d
2098020100d15
"""
YEARS = tuple(_TABLE.split())  # noqa: SIM905 — a compact table reads better than 199 quoted items
LAST_YEAR = FIRST_YEAR + len(YEARS) - 1


@cache
def _year(year: int) -> tuple[dt.date, int, tuple[int, ...]]:
    """(first day, leap month or 0, month lengths in calendar order)."""
    entry = YEARS[year - FIRST_YEAR]
    start = dt.date(int(entry[:4]), int(entry[4:6]), int(entry[6:8]))
    leap = int(entry[8], 16)
    months = 13 if leap else 12
    bits = format(int(entry[9:], 16), f"0{months}b")
    return start, leap, tuple(30 if b == "1" else 29 for b in bits)


def to_solar(year: int, month: int, day: int, leap_month: bool = False) -> dt.date:
    """The Gregorian date of lunar year/month/day. A day past the month's end (the 30th
    of a 29-day month) falls on its last day, as people keep such birthdays."""
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise ValueError(f"lunar year {year} is outside {FIRST_YEAR}–{LAST_YEAR}")
    if not 1 <= month <= 12 or not 1 <= day <= 30:
        raise ValueError(f"no lunar date {month}-{day}")
    start, leap, lengths = _year(year)
    # a leap month follows its plain namesake; a leap month the year lacks is the plain one
    index = month - 1 + (1 if leap and (month > leap or (month == leap and leap_month)) else 0)
    offset = sum(lengths[:index]) + min(day, lengths[index]) - 1
    return start + dt.timedelta(days=offset)


def next_birthday(birthday: dt.date, lunar: bool, on_or_after: dt.date) -> dt.date | None:
    """The first birthday on or after a date. A lunar birthday is stored as its lunar
    month and day (年-月-日 as written, e.g. 八月十五 → 1990-08-15); 2-29 falls on 2-28
    in common years. None outside the lunar table's years."""
    for year in range(on_or_after.year - 1, on_or_after.year + 2):
        if lunar:
            if not FIRST_YEAR <= year <= LAST_YEAR:
                continue
            day = to_solar(year, birthday.month, min(birthday.day, 30))  # a '31' ends the month
        else:
            last = 28 if birthday.month == 2 and birthday.day == 29 and not _is_leap(year) else birthday.day
            day = dt.date(year, birthday.month, last)
        if day >= on_or_after:
            return day
    return None


def _is_leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
