"""ads_profile: one row per customer, agreeing with the tables it gathers."""


def test_profile_has_every_customer_once_and_agrees_with_its_sources(shop):
    shop.build(["ads_profile"])
    q = shop.engine.query
    n = q("SELECT count(*), count(DISTINCT user_id) FROM ads_profile").to_pylist()[0]
    assert list(n.values())[0] == list(n.values())[1] == \
        q("SELECT count(*) FROM ads_customer_class").column(0)[0].as_py() > 1000
    mismatched = q("""
        SELECT count(*) FROM ads_profile p
        LEFT JOIN ads_rfm r USING (user_id) LEFT JOIN ads_purchase_due d USING (user_id)
        LEFT JOIN ads_clv v USING (user_id)
        WHERE p.is_buyer <> (r.user_id IS NOT NULL)
           OR p.frequency IS DISTINCT FROM r.frequency OR p.segment IS DISTINCT FROM r.segment
           OR p.next_due_date IS DISTINCT FROM d.next_due_date
           OR p.expected_value IS DISTINCT FROM v.expected_value""").column(0)[0].as_py()
    assert mismatched == 0
    intent = q("SELECT count(*) FILTER (WHERE frequency IS NOT NULL), count(*) FROM ads_profile "
               "WHERE class = 'intent'").to_pylist()[0]
    assert list(intent.values())[0] == 0 and list(intent.values())[1] > 0
    buyers = q("SELECT count(*) FILTER (WHERE p_alive IS NULL) FROM ads_profile WHERE is_buyer")
    assert buyers.column(0)[0].as_py() == 0
    columns = set(q("SELECT * FROM ads_profile LIMIT 0").column_names)
    assert not columns & {"phone", "email", "address", "birthday"}
