-- Zero-emission share of passages per month: electric and hydrogen passages over CBS's own total.
with

fuel as (
    select * from {{ ref('fct_passages_by_fuel') }}
    where municipality_code = 'GM0344' and is_category_total
),

monthly as (
    select
        month_start,
        sum(passages) filter (where is_zero_emission_fuel) as zero_emission_passages,
        sum(passages) filter (where is_fuel_total) as total_passages,
        sum(confidential_cells) filter (where is_zero_emission_fuel) as confidential_cells
    from fuel
    group by month_start
)

select
    month_start,
    zero_emission_passages,
    total_passages,
    confidential_cells,
    zero_emission_passages / total_passages as zero_emission_share
from monthly
order by month_start
