extension DeviceStore {
    /// The product firmware store on the same database (for the gateway's automatic updates).
    public var productFirmware: ProductFirmwareStore { ProductFirmwareStore(database: database) }
}
