-- The rows of a total view of a zone fact (whatever totals CBS delivered: cube, nested or the minimum)
-- are disjoint parts of the zone-month: their published sum never exceeds CBS's grand total by more
-- than rounding (each of n parts and the total off by at most half the rounding base). A view that
-- picks overlapping combinations of totals (counting vehicles twice) fails here. Detail a delivery
-- leaves out is not known, so the sum may be smaller.
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
        view_sums.grand_total_vehicles is not null
        and view_sums.view_vehicles - view_sums.grand_total_vehicles
        > (view_sums.view_rows + 1) * coalesce(deliveries.sdc_rounding_base, 1) / 2.0
)

select * from failures
