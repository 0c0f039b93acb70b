/** How MQTT is shown to people (see ../networks.ts). */
export const MQTT_DISPLAY = { label: 'MQTT', endpointNoun: 'brokers', countEndpoints: true } as const;
