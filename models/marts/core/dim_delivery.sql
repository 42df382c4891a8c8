-- Every CBS delivery ever loaded, with its history: the one mart that says which delivery a month's numbers
-- come from (is_flowing), which it replaced and how its build went. Exports and the report read it.
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
        build_status,
        built_at,
        is_current,
        is_flowing
    from deliveries
)

select * from final
