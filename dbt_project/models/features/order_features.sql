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

instants as (
    -- Values summed as exact decimals (they have cents): a float sum depends on the order it is added in,
    -- and an order's features must not move when rows are added elsewhere.
    select
        user_id,
        order_date,
        count(*) as orders,
        count(order_value) as valued_orders,
        sum(cast(order_value as decimal(18, 2))) as orders_value,
        max(order_value) as max_value
    from orders
    group by user_id, order_date
),

-- Instants and events on one timeline per user; at one instant the orders come first, so the rows before an
-- instant are the orders and events strictly before it. One window over it (not one per kind joined back):
-- at the large scale each window and join spilled gigabytes.
timeline as (
    select
        user_id,
        order_date as happened_at,
        0 as is_event,
        orders,
        valued_orders,
        orders_value,
        max_value,
        0 as pageviews,
        0 as ratings,
        0 as stars
    from instants
    union all
    select user_id, event_time, 1, 0, 0, null, null, 1, 0, 0  -- noqa: LT09
    from {{ ref('pageviews') }}
    where user_id is not null
    union all
    select user_id, event_time, 1, 0, 0, null, null, 0, 1, stars  -- noqa: LT09
    from {{ ref('stars') }}
    where user_id is not null and stars is not null
),

{% set before = 'over (partition by user_id order by happened_at, is_event '
                ~ 'rows between unbounded preceding and 1 preceding)' %}
earlier as (
    select
        user_id,
        happened_at,
        is_event,
        {% for measure in ['orders', 'valued_orders', 'orders_value', 'pageviews', 'ratings', 'stars'] %}
        sum({{ measure }}) {{ before }} as prior_{{ measure }},
        {% endfor %}
        max(max_value) {{ before }} as prior_max_value,
        max(case when is_event = 0 then happened_at end) {{ before }} as previous_order_date
    from timeline
)

select
    o.order_id,
    o.user_id,
    o.order_date,
    {{ as_flag('v.user_id is not null') }} as is_vip,
    month(o.order_date) as order_month,
    {{ iso_day_of_week('o.order_date') }} as order_weekday,
    cast(coalesce(b.prior_orders, 0) as {{ dbt.type_bigint() }}) as prior_orders,
    cast(b.prior_orders_value as {{ double_type() }}) / nullif(b.prior_valued_orders, 0) as prior_mean_value,
    b.prior_max_value,
    {{ seconds_between('b.previous_order_date', 'o.order_date') }} / 86400.0 as days_since_previous_order,
    cast(coalesce(b.prior_pageviews, 0) as {{ dbt.type_bigint() }}) as prior_pageviews,
    cast(coalesce(b.prior_ratings, 0) as {{ dbt.type_bigint() }}) as prior_ratings,
    cast(b.prior_stars as {{ double_type() }}) / nullif(b.prior_ratings, 0) as prior_mean_stars,
    o.order_value
from orders as o
inner join earlier as b on o.user_id = b.user_id and o.order_date = b.happened_at and b.is_event = 0
left join {{ ref('vip_users') }} as v on o.user_id = v.user_id
