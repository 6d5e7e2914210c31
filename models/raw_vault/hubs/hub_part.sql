-- Parts, keyed by the ERP part key, from parts, offers and order lines.
with parts as (

    select * from {{ ref('stg_erp__parts') }}

),

part_suppliers as (

    select * from {{ ref('stg_erp__part_suppliers') }}

),

order_lines as (

    select * from {{ ref('stg_erp__order_lines') }}

),

parts_keyed as (

    select
        {{ vault_hash(['part_id']) }} as part_hk,
        part_id,
        loaded_at as load_at,
        'erp.part' as record_source
    from parts

),

part_suppliers_keyed as (

    select
        {{ vault_hash(['part_id']) }} as part_hk,
        part_id,
        loaded_at as load_at,
        'erp.partsupp' as record_source
    from part_suppliers

),

order_lines_keyed as (

    select
        {{ vault_hash(['part_id']) }} as part_hk,
        part_id,
        loaded_at as load_at,
        'erp.lineitem' as record_source
    from order_lines

),

{{ vault_hub(
    ['parts_keyed', 'part_suppliers_keyed', 'order_lines_keyed'],
    'part_hk',
    ['part_id'],
) }}

select * from final
