-- How ratings spread over 1-5 stars: count and share of all ratings.
with by_stars as (
    select
        stars,
        count(*) as ratings
    from {{ ref('stars') }}
    where stars is not null
    group by stars
)

select
    stars,
    ratings,
    -- `share` is a keyword in some dialects, and the published column's name (the dashboard reads it).
    cast(ratings as {{ double_type() }}) / sum(ratings) over () as share  -- noqa: RF04
from by_stars
