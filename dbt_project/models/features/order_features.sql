-- Each order with what was known of its user before it was placed (point in time): their earlier orders,
-- pageviews and ratings, never the order's own items or anything at or after its time. Orders a user placed
-- at the same instant are known together, only after it. The label, order_value, is the order's own.
with orders as (
    select
        order_id,
        user_id,
        order_date,
        order_value
    from {{ ref('orders') }}
    where user_id is not null and order_date is not null
),

-- Orders and events on one timeline per user; at one instant the orders come first, and an order sees what sorts
-- strictly before its instant: orders a user placed at the same instant are known together, only after it.
-- Values are summed as exact decimals (they have cents): a float sum depends on the order it is added in, and an
-- order's features must not move when rows are added elsewhere.
timeline as (
    select
        user_id,
        order_id,
        order_date as happened_at,
        0 as is_event,
        order_value,
        1 as orders,
        case when order_value is not null then 1 else 0 end as valued_orders,
        cast(order_value as decimal(18, 2)) as orders_value,
        order_value as max_value,
        order_date,
        0 as pageviews,
        0 as ratings,
        0 as stars
    from orders
    union all
    select user_id, null, event_time, 1, null, 0, 0, null, null, null, 1, 0, 0  -- noqa: LT09
    from {{ ref('pageviews') }}
    where user_id is not null
    union all
    select user_id, null, event_time, 1, null, 0, 0, null, null, null, 0, 1, stars  -- noqa: LT09
    from {{ ref('stars') }}
    where user_id is not null and stars is not null
),

earlier as (
    {{ totals_before('timeline', partition_by=['user_id'], order_by=['happened_at', 'is_event'],
                     measures={'orders': 'sum', 'valued_orders': 'sum', 'orders_value': 'sum', 'pageviews': 'sum',
                               'ratings': 'sum', 'stars': 'sum', 'max_value': 'max', 'order_date': 'max'},
                     for_rows='is_event = 0') }}
)

select
    o.order_id,
    o.user_id,
    o.order_date,
    {{ as_flag('v.user_id is not null') }} as is_vip,
    month(o.order_date) as order_month,
    {{ iso_day_of_week('o.order_date') }} as order_weekday,
    cast(coalesce(o.prior_orders, 0) as {{ dbt.type_bigint() }}) as prior_orders,
    cast(o.prior_orders_value as {{ double_type() }}) / nullif(o.prior_valued_orders, 0) as prior_mean_value,
    o.prior_max_value,
    {{ seconds_between('o.prior_order_date', 'o.order_date') }} / 86400.0 as days_since_previous_order,
    cast(coalesce(o.prior_pageviews, 0) as {{ dbt.type_bigint() }}) as prior_pageviews,
    cast(coalesce(o.prior_ratings, 0) as {{ dbt.type_bigint() }}) as prior_ratings,
    cast(o.prior_stars as {{ double_type() }}) / nullif(o.prior_ratings, 0) as prior_mean_stars,
    o.order_value
from earlier as o
left join {{ ref('vip_users') }} as v on o.user_id = v.user_id
