with

source as (
    select * from {{ source('cbs', 'cbs_deliveries') }}
),

flowing as (
    select * from {{ ref('base_cbs__flowing_deliveries') }}
),

renamed as (
    select
        source.delivery_id,
        source.contract,
        source.layout,
        source.municipality_code,
        source.municipality_name,
        source.period_code,
        source.period_start,
        source.period_end,
        source.version,
        source.supersedes as supersedes_delivery_id,
        source.produced_at,
        source.sdc_min_cell,
        source.sdc_rounding_base,
        source.content_sha256,
        source.source_path,
        source.row_count,
        source.loaded_at,
        source.status as delivery_status,
        source.superseded_by as superseded_by_delivery_id,
        source.superseded_at,
        source.build_status,
        source.build_failure,
        source.built_at,
        source.status = 'current' as is_current,
        flowing.delivery_id is not null as is_flowing
    from source
    left join flowing
        on source.delivery_id = flowing.delivery_id
)

select * from renamed
