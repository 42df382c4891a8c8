-- Every CBS delivery ever loaded, with its history: the one mart that says which delivery a month's numbers
-- come from (is_flowing) and which it replaced. Exports and the report read it. Not the build status and time
-- (stg_cbs__deliveries, `anpr deliveries`): this table is built inside the build they describe, and every build
-- would change them, and with them every package.
with

deliveries as (
    select * from {{ ref('stg_cbs__deliveries') }}
),

final as (
    select
        delivery_id,
        contract,
        layout,
        municipality_code,
        period_code,
        period_start as month_start,
        period_end,
        version,
        supersedes_delivery_id,
        superseded_by_delivery_id,
        produced_at,
        sdc_min_cell,
        sdc_rounding_base,
        content_sha256,
        row_count,
        loaded_at,
        superseded_at,
        delivery_status,
        is_current,
        is_flowing
    from deliveries
)

select * from final
