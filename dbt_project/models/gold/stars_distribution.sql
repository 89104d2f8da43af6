-- How ratings spread over 1-5 stars: count and share of all ratings.
with ratings as (
    select stars, count(*) as ratings
    from {{ ref('stars') }}
    where stars is not null
    group by stars
)

select
    stars,
    ratings,
    cast(ratings as {{ double_type() }}) / (select sum(ratings) from ratings) as share
from ratings
