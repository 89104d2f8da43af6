-- Each user as silver and gold know them now: how much and how they buy, view and rate. The order value
-- model's features per order come from order_features (point in time); these describe users today.
select
    u.user_id,
    {{ as_flag('v.user_id is not null') }} as is_vip,
    coalesce(a.orders, 0) as orders,
    a.orders_value / nullif(a.valued_orders, 0) as mean_order_value,
    cast(a.items as {{ double_type() }}) / nullif(a.orders, 0) as items_per_order,
    coalesce(a.pageviews, 0) as pageviews,
    coalesce(a.ratings, 0) as ratings,
    cast(a.stars_total as {{ double_type() }}) / nullif(a.ratings, 0) as mean_stars
from {{ ref('users') }} as u
left join {{ ref('user_activity') }} as a on u.user_id = a.user_id
left join {{ ref('vip_users') }} as v on u.user_id = v.user_id
