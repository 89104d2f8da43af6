{{ config(materialized=incremental_where_supported(), unique_key='user_id', incremental_strategy=upsert_strategy()) }}
-- Each user's running totals over everything silver holds: pageviews, orders and their values, items,
-- ratings. Incremental: the rows silver took since the last build are added to the totals of their users
-- (rows of ids that are no user are counted too, so a user who appears later has them). engagements reads it.
with counted as (
    select
        user_id,
        1 as pageviews,
        0 as orders,
        cast(null as {{ double_type() }}) as orders_value,
        0 as items,
        0 as ratings,
        0 as stars_total,
        _ingested_at
    from {{ ref('pageviews') }} as p
    where user_id is not null {{ counted_after('p') }}
    union all
    select user_id, 0, 1, order_value, 0, 0, 0, _ingested_at  -- noqa: LT09
    from {{ ref('orders') }} as o
    where user_id is not null {{ counted_after('o') }}
    union all
    select o.user_id, 0, 0, cast(null as {{ double_type() }}), 1, 0, 0, i._ingested_at  -- noqa: LT09
    from {{ ref('items') }} as i
    inner join {{ ref('orders') }} as o on i.order_id = o.order_id
    where o.user_id is not null {{ counted_after('i') }}
    union all
    select user_id, 0, 0, cast(null as {{ double_type() }}), 0, 1, stars, _ingested_at  -- noqa: LT09
    from {{ ref('stars') }} as s
    where user_id is not null and stars is not null {{ counted_after('s') }}
),

added as (
    select
        user_id,
        sum(pageviews) as pageviews,
        sum(orders) as orders,
        count(orders_value) as valued_orders,  -- only the orders branch has values
        sum(orders_value) as orders_value,
        sum(items) as items,
        sum(ratings) as ratings,
        sum(stars_total) as stars_total,
        max(_ingested_at) as _ingested_through
    from counted
    group by user_id
)

{{ running_totals('user_id', {'pageviews': 'count', 'orders': 'count', 'valued_orders': 'count',
                              'orders_value': 'sum', 'items': 'count', 'ratings': 'count',
                              'stars_total': 'count'}) }}
