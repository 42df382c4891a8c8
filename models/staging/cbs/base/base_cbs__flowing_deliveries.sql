{#-
    The deliveries that flow on, one per municipality and month: the newest delivery that either passed a
    build (build_status 'ok') or is the current one and was not built yet. So a current delivery whose build
    failed (anpr build marks it 'failed') gives way to the last one that built ok; without one the month is
    absent. The one definition of what staging passes on: every staging model of a delivery file reads it
    through the flowing_rows macro.
-#}
with

deliveries as (
    select * from {{ source('cbs', 'cbs_deliveries') }}
),

flowing as (
    select
        delivery_id,
        municipality_code,
        period_code,
        period_start,
        layout,
        sdc_rounding_base
    from deliveries
    where build_status = 'ok' or (status = 'current' and build_status is null)
    qualify row_number() over (partition by municipality_code, period_code order by version desc) = 1
)

select * from flowing
