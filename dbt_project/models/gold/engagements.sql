-- One row per user (SPEC.md). Each measure is aggregated per user on its own (user_activity keeps the
-- running totals) and only then joined: joining the raw tables first multiplies every measure by the
-- others' row counts.
select
    u.user_id as id,
    u.user_name,
    u.city,
    coalesce(a.pageviews, 0) as pageviews,
    coalesce(a.orders, 0) as orders,
    coalesce(a.orders_value, 0) as total_orders_value,
    a.orders_value / nullif(a.valued_orders, 0) as avg_order_value,
    coalesce(a.items, 0) as total_items,
    cast(a.stars_total as {{ double_type() }}) / nullif(a.ratings, 0) as avg_stars,
    {{ as_flag('v.user_id is not null') }} as is_vip
from {{ ref('users') }} as u
left join {{ ref('user_activity') }} as a on u.user_id = a.user_id
left join {{ ref('vip_users') }} as v on u.user_id = v.user_id
