-- One row per user (SPEC.md). Each measure is aggregated per user on its own and only then joined:
-- joining the raw tables first multiplies every measure by the others' row counts.
with pageview_counts as (
    select user_id, count(*) as pageviews
    from {{ ref('pageviews') }}
    group by user_id
),

order_totals as (
    select user_id, count(*) as orders, sum(order_value) as total_orders_value, avg(order_value) as avg_order_value
    from {{ ref('orders') }}
    group by user_id
),

item_counts as (
    select o.user_id, count(*) as total_items
    from {{ ref('items') }} as i
    inner join {{ ref('orders') }} as o on o.order_id = i.order_id
    group by o.user_id
),

star_averages as (
    select user_id, avg(cast(stars as {{ double_type() }})) as avg_stars
    from {{ ref('stars') }}
    group by user_id
)

select
    u.user_id as id,
    u.user_name,
    u.city,
    coalesce(p.pageviews, 0) as pageviews,
    coalesce(o.orders, 0) as orders,
    coalesce(o.total_orders_value, 0) as total_orders_value,
    o.avg_order_value,
    coalesce(i.total_items, 0) as total_items,
    s.avg_stars,
    {{ as_flag('v.user_id is not null') }} as is_vip
from {{ ref('users') }} as u
left join pageview_counts as p on p.user_id = u.user_id
left join order_totals as o on o.user_id = u.user_id
left join item_counts as i on i.user_id = u.user_id
left join star_averages as s on s.user_id = u.user_id
left join {{ ref('vip_users') }} as v on v.user_id = u.user_id
