-- Sales per calendar day (UTC): orders, revenue, items sold, average order value (daily_totals keeps the
-- running totals).
select
    order_day,
    orders,
    revenue,
    items,
    revenue / orders as avg_order_value
from {{ ref('daily_totals') }}
