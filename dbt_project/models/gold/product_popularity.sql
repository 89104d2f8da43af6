-- Each product: how often it was ordered, in how many orders, the revenue at its current price,
-- and its rank by units sold (ties share a rank). product_sales keeps the running totals.
select
    p.product_id,
    p.name,
    p.price,
    coalesce(s.units_sold, 0) as units_sold,
    coalesce(s.orders, 0) as orders,
    coalesce(s.units_sold, 0) * p.price as revenue,
    rank() over (order by coalesce(s.units_sold, 0) desc) as popularity_rank
from {{ ref('products') }} as p
left join {{ ref('product_sales') }} as s on p.product_id = s.product_id
