-- Sales per calendar day (UTC): orders, revenue, items sold, average order value.
with orders_per_day as (
    select cast(order_date as date) as order_day, count(*) as orders, sum(order_value) as revenue
    from {{ ref('orders') }}
    where order_date is not null
    group by cast(order_date as date)
),

items_per_day as (
    select cast(o.order_date as date) as order_day, count(*) as items
    from {{ ref('items') }} as i
    inner join {{ ref('orders') }} as o on o.order_id = i.order_id
    where o.order_date is not null
    group by cast(o.order_date as date)
)

select
    d.order_day,
    d.orders,
    d.revenue,
    coalesce(i.items, 0) as items,
    d.revenue / d.orders as avg_order_value
from orders_per_day as d
left join items_per_day as i on i.order_day = d.order_day
