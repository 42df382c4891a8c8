-- Every zone-month has rows in every total view of the zone facts (whatever totals CBS delivered:
-- cube, nested or the minimum), and where a view holds no hidden cell its rows add up to CBS's grand
-- total within rounding (each of n parts and the total off by at most half the rounding base).
-- A view that picks overlapping or missing combinations of totals fails here.
with

deliveries as (
    select * from {{ source('cbs', 'cbs_deliveries') }}
),

view_sums as (
    {{ total_view_sums() }}
),

failures as (
    select
        view_sums.*,
        deliveries.sdc_rounding_base
    from view_sums
    inner join deliveries
        on view_sums.delivery_id = deliveries.delivery_id
    where
        view_sums.view_rows = 0
        or (
            view_sums.view_fully_published
            and view_sums.grand_total_vehicles is not null
            and abs(view_sums.view_vehicles - view_sums.grand_total_vehicles)
            > (view_sums.view_rows + 1) * coalesce(deliveries.sdc_rounding_base, 1) / 2.0
        )
)

select * from failures
